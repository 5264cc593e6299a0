"""The interface every tweet source implements.

A source yields :class:`SourceRecord` objects: the tweet JSON exactly as the
source delivered it (X API v1.1 or v2), plus the tweet id as the Kafka key when
the source knows it. Sources do not normalise: the ingest job does, so every
payload on ``tweets.raw`` - from streamsift or any other producer - is treated
the same way, and malformed ones reach ``dead_letters`` with their Kafka offset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from streamsift.errors import StreamsiftError
from streamsift.records import extract_tweet_id


class SourceError(StreamsiftError):
    """A source cannot deliver (bad path, authentication refused, ...)."""


@dataclass(slots=True)
class SourceRecord:
    """One payload for ``tweets.raw``."""

    payload: bytes
    key: bytes | None = None
    #: Called once Kafka has the record (a source that keeps a resume cursor advances it there).
    ack: Callable[[], None] | None = None

    @classmethod
    def from_payload(cls, payload: bytes) -> SourceRecord:
        """Build a record, keyed by the tweet id when the payload has one."""
        tweet_id = extract_tweet_id(payload)
        return cls(payload, str(tweet_id).encode() if tweet_id is not None else None)


class Source(ABC):
    """A stream of tweet payloads. Iterate it; call :meth:`close` (or use ``with``) when done."""

    name: str = "source"

    @abstractmethod
    def __iter__(self) -> Iterator[SourceRecord]: ...

    @property
    def total(self) -> int | None:
        """How many records the source will yield, when known (for progress bars)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or files."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
