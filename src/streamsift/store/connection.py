"""Connections to PostgreSQL, built from :class:`~streamsift.config.PostgresSettings`.

The password (if any) comes from ``STREAMSIFT_POSTGRES__PASSWORD`` via the settings
object and is passed to the driver as a separate argument: it is never part of a
URL that gets printed or logged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from streamsift.config import PostgresSettings
from streamsift.errors import ServiceUnreachableError


def public_url(pg: PostgresSettings, database: str | None = None) -> str:
    """A ``postgresql://`` URL without the password (safe to print)."""
    if pg.url:
        parts = urlsplit(pg.url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        user = parts.username
        netloc = f"{user}@{netloc}" if user else netloc
        path = f"/{database}" if database else parts.path
        return urlunsplit((parts.scheme, netloc, path, parts.query, ""))
    return f"postgresql://{pg.user}@{pg.host}:{pg.port}/{database or pg.database}"


def connect_kwargs(pg: PostgresSettings, database: str | None = None) -> dict[str, Any]:
    """Keyword arguments for :func:`psycopg.connect` (password included, if set)."""
    kw: dict[str, Any] = {"conninfo": public_url(pg, database), "connect_timeout": pg.connect_timeout_s}
    if pg.password is not None:
        kw["password"] = pg.password.get_secret_value()
    kw["application_name"] = "streamsift"
    return kw


def connect(pg: PostgresSettings, database: str | None = None, **extra: Any) -> psycopg.Connection:
    """Open a connection; an unreachable server raises ServiceUnreachableError."""
    try:
        return psycopg.connect(**connect_kwargs(pg, database), **extra)
    except psycopg.OperationalError as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceUnreachableError(
            f"cannot connect to PostgreSQL at {public_url(pg, database)}: {msg}",
            hint="run `streamsift infra up`, or check postgres.url" if pg.url else "run `streamsift infra up`",
        ) from None


def table_exists(conn: psycopg.Connection, table: str) -> bool:
    """Whether ``public.<table>`` exists (the name is passed as a value, never pasted into SQL)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()
    return bool(row[0] if isinstance(row, tuple | list) else next(iter(row.values())))


def jdbc_url(pg: PostgresSettings) -> str:
    """The JDBC URL Spark uses (no credentials in it; pass user/password as options)."""
    parts = urlsplit(public_url(pg))
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    return f"jdbc:postgresql://{host}:{port}{parts.path}"


__all__ = ["connect", "connect_kwargs", "jdbc_url", "public_url", "table_exists"]
