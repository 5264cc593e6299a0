"""Reading JSON Lines files of ``{"text": ...}`` records, as ``label apply`` and ``predict`` take them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read_text_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record or None, error or None) for each non-blank line.

    A line that is not UTF-8, not JSON or not an object yields no record; an object without a string
    ``text`` yields the record with an error. Nothing is dropped silently: callers keep every line's place.
    """
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield n, None, f"line is not UTF-8 ({exc.reason} at byte {exc.start})"
                continue
            except json.JSONDecodeError as exc:
                yield n, None, f"invalid JSON: {exc.msg}"
                continue
            if not isinstance(obj, dict):
                yield n, None, f"not a JSON object but a {type(obj).__name__}"
            elif not isinstance(obj.get("text"), str):
                yield n, obj, "no string field 'text'"
            else:
                yield n, obj, None
