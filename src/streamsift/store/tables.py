"""Versioned table names, validated as SQL identifiers.

Names built from config are checked here and then only ever passed to SQL as
``psycopg.sql.Identifier`` objects, never pasted into a query string.
"""

from __future__ import annotations

import re

from streamsift.errors import TableNameError

# Lower-case unquoted PostgreSQL identifiers: a letter or underscore, then letters,
# digits or underscores; at most 63 bytes (NAMEDATALEN - 1).
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_IDENTIFIER_LENGTH = 63


def validate_identifier(name: str) -> str:
    """Return ``name`` if it is a safe, unquoted, lower-case SQL identifier, else raise."""
    if not isinstance(name, str) or not name:
        raise TableNameError(f"invalid SQL identifier {name!r}: must be a non-empty string")
    if len(name.encode()) > MAX_IDENTIFIER_LENGTH:
        raise TableNameError(f"invalid SQL identifier {name!r}: longer than {MAX_IDENTIFIER_LENGTH} bytes")
    if not _IDENTIFIER.match(name):
        raise TableNameError(
            f"invalid SQL identifier {name!r}: use lower-case letters, digits and underscores, "
            "starting with a letter or underscore"
        )
    return name


def versioned(prefix: str, version: int) -> str:
    """``<prefix>_<version>``, e.g. ``versioned("raw_tweet_dataset", 0) == "raw_tweet_dataset_0"``."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise TableNameError(f"invalid table version {version!r}: must be an integer >= 0")
    return validate_identifier(f"{validate_identifier(prefix)}_{version}")


def raw_table(prefix: str, version: int) -> str:
    """The raw tweet table, e.g. ``raw_tweet_dataset_0``."""
    return versioned(prefix, version)


__all__ = ["MAX_IDENTIFIER_LENGTH", "raw_table", "validate_identifier", "versioned"]
