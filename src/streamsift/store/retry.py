"""Riding out database blips: retry transient PostgreSQL errors with backoff.

Every sink writes through :func:`write_with_retry`. A *transient* error is one a
later attempt can get past without anybody changing anything:

- the connection could not be made or was lost (refused, reset, closed, the
  server starting up or shutting down: ``57P01``/``57P02``/``57P03``, class ``08``);
- the transaction lost a race (serialization failure ``40001``, deadlock ``40P01``).

Those are retried with exponential backoff and jitter (tenacity) for up to a
window of seconds (``ingest.sink_retry_s``), one log line per retry. Past the
window, :class:`SinkUnavailableError` says in one line which database could not
be reached. Anything else (a constraint violation, a bad column, a full disk) is
raised at once: retrying would only hide it.

Writes must be idempotent (they are: every sink inserts ``ON CONFLICT DO
NOTHING`` in one transaction), because a write whose commit was lost in flight
is written again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

import psycopg
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from streamsift.errors import StreamsiftError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: SQLSTATEs worth another attempt (see the module docstring).
TRANSIENT_SQLSTATES = frozenset(
    {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "08007"}
)


class SinkUnavailableError(StreamsiftError):
    """A sink could not write for longer than its retry window."""


def is_transient(exc: BaseException) -> bool:
    """Whether a later attempt may succeed (connection lost/refused, server restarting, lost race)."""
    if not isinstance(exc, psycopg.Error):
        return isinstance(exc, ConnectionError)
    state = getattr(exc, "sqlstate", None)
    if state is not None:
        return state in TRANSIENT_SQLSTATES
    # No SQLSTATE: the error came from the client side of a connection (refused, reset, closed).
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ConnectionHolder:
    """One connection, reopened after it broke. Used by long-lived writers."""

    def __init__(self, connect_kwargs: dict[str, Any]) -> None:
        self.connect_kwargs = connect_kwargs
        self._conn: psycopg.Connection | None = None

    def get(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self.reset()
            self._conn = psycopg.connect(**self.connect_kwargs)
        return self._conn

    def reset(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):  # already gone
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        self.reset()

    def __enter__(self) -> ConnectionHolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_with_retry(
    write: Callable[[], T],
    *,
    window_s: float,
    target: str,
    what: str = "write",
    on_retry: Callable[[], None] | None = None,
    initial_s: float = 0.5,
    max_wait_s: float = 20.0,
) -> T:
    """Call ``write()`` until it succeeds, retrying transient errors for up to ``window_s`` seconds.

    ``target`` names the database in messages (a URL without the password).
    ``on_retry`` runs before each new attempt (e.g. drop a broken connection).
    """

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s to %s failed (%s); retry %d in %.1f s (gives up %.0f s after the first failure)",
            what,
            target,
            first_line(exc) if exc else "?",
            state.attempt_number,
            wait,
            window_s,
        )
        if on_retry is not None:
            on_retry()

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential_jitter(multiplier=initial_s, max=max_wait_s),
        stop=stop_after_delay(window_s),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        result = retrying(write)
    except psycopg.Error as exc:
        if not is_transient(exc):
            raise
        raise SinkUnavailableError(
            f"could not {what} to PostgreSQL at {target} for {window_s:.0f} s: {first_line(exc)}",
            hint="check that the server is up (`streamsift infra status`), then run the stage again: "
            "it resumes from its checkpoint",
        ) from exc
    attempts = retrying.statistics.get("attempt_number", 1)
    if attempts > 1:
        log.warning("%s to %s succeeded on attempt %d", what, target, attempts)
    return result


__all__ = ["ConnectionHolder", "SinkUnavailableError", "is_transient", "write_with_retry"]
