"""Replay tweets from a file: JSON Lines, or a folder of ``.json`` files (v1.1 or v2)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson

from streamsift.sources.base import Source, SourceError, SourceRecord

log = logging.getLogger(__name__)


class ReplaySource(Source):
    """``streamsift produce --source replay --path P [--loop]``.

    Each non-blank line of a ``.jsonl`` file (or each ``.json`` file in a folder,
    holding one object, an array of objects, or JSON Lines) becomes one payload,
    sent as it is: lines that are not valid tweets still go to Kafka and end up
    in ``dead_letters`` with the reason, so nothing is dropped silently.
    """

    name = "replay"

    def __init__(self, path: str | Path, *, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        if not self.path.exists():
            raise SourceError(f"replay path {self.path} does not exist")
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.rglob("*") if p.suffix in {".json", ".jsonl"})
            if not self.files:
                raise SourceError(f"replay folder {self.path} has no .json or .jsonl files")
        else:
            self.files = [self.path]

    @property
    def total(self) -> int | None:
        if self.loop or len(self.files) != 1 or self.files[0].suffix == ".json":
            return None
        with self.files[0].open("rb") as fh:
            return sum(1 for line in fh if line.strip())

    def _records(self, file: Path) -> Iterator[SourceRecord]:
        if file.suffix == ".json":
            data = file.read_bytes()
            stripped = data.strip()
            if stripped.startswith(b"["):
                try:
                    items = orjson.loads(stripped)
                except orjson.JSONDecodeError:
                    items = None
                if isinstance(items, list):
                    for item in items:
                        yield SourceRecord.from_payload(orjson.dumps(item))
                    return
            if b"\n" not in stripped:
                yield SourceRecord.from_payload(stripped)
                return
        with file.open("rb") as fh:
            for line in fh:
                line = line.strip()
                if line:
                    yield SourceRecord.from_payload(line)

    def __iter__(self) -> Iterator[SourceRecord]:
        while True:
            for file in self.files:
                log.debug("replaying %s", file)
                yield from self._records(file)
            if not self.loop:
                return


__all__ = ["ReplaySource"]
