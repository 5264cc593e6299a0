"""Text normalisation for near-duplicate detection.

Two tweets are the same content when they are equal after: dropping a leading
retweet marker (``RT @user:``), removing links, lower-casing and collapsing
white space. :data:`NORMALIZE_SQL` is the same rule in PostgreSQL, used by
``dataset prepare``; a test keeps the two in step.
"""

from __future__ import annotations

import re

import psycopg

_RT = re.compile(r"^\s*RT\s+@\w+:?\s*", re.IGNORECASE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """The dedup key of a tweet text."""
    text = _RT.sub("", text or "")
    text = _URL.sub(" ", text)
    return _SPACE.sub(" ", text.lower()).strip()


#: Collations whose ``lower()`` folds all of Unicode like Python does, best first
#: (PostgreSQL 18 builtin, 17 builtin, ICU). A server's default C collation folds ASCII only.
UNICODE_COLLATIONS = ("pg_unicode_fast", "pg_c_utf8", "und-x-icu")


def normalize_sql(collation: str | None = None) -> str:
    """The same rule as :func:`normalize_text`, as a SQL expression over a column named ``text``."""
    col = f' COLLATE "{collation}"' if collation else ""
    if collation is not None and collation not in UNICODE_COLLATIONS:
        raise ValueError(f"unexpected collation {collation!r}")
    return (
        "btrim(regexp_replace(lower(regexp_replace(regexp_replace(coalesce(text, ''), "
        f"'^\\s*RT\\s+@\\w+:?\\s*', '', 'i'), 'https?://\\S+', ' ', 'gi'){col}), '\\s+', ' ', 'g'))"
    )


def unicode_collation(conn: psycopg.Connection) -> str | None:
    """The first of :data:`UNICODE_COLLATIONS` this server supports (checked by folding 'Á'), or None."""
    for name in UNICODE_COLLATIONS:
        try:
            with conn.transaction():
                row = conn.execute(f"SELECT lower('ÁÄÉ' COLLATE \"{name}\")").fetchone()
        except Exception:  # noqa: BLE001 - unknown or unsupported collation: try the next
            continue
        if row and row[0] == "áäé":
            return name
    return None


#: Kept for callers that do not detect the collation (ASCII-only case folding on a C-locale server).
NORMALIZE_SQL = normalize_sql(None)
