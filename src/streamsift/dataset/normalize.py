"""Text normalisation for near-duplicate detection.

Two tweets are the same content when they are equal after: dropping a leading
retweet marker (``RT @user:``), removing links, lower-casing and collapsing
white space. :data:`NORMALIZE_SQL` is the same rule in PostgreSQL, used by
``dataset prepare``; a test keeps the two in step.
"""

from __future__ import annotations

import re

_RT = re.compile(r"^\s*RT\s+@\w+:?\s*", re.IGNORECASE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """The dedup key of a tweet text."""
    text = _RT.sub("", text or "")
    text = _URL.sub(" ", text)
    return _SPACE.sub(" ", text.lower()).strip()


#: The same rule as :func:`normalize_text`, as a SQL expression over a column named ``text``.
NORMALIZE_SQL = (
    "btrim(regexp_replace(lower(regexp_replace(regexp_replace(coalesce(text, ''), "
    "'^\\s*RT\\s+@\\w+:?\\s*', '', 'i'), 'https?://\\S+', ' ', 'gi')), '\\s+', ' ', 'g'))"
)
