"""Tweet sources: the X API v2 filtered stream, file replay, and a synthetic stream."""

from streamsift.sources.base import Source, SourceError, SourceRecord
from streamsift.sources.replay import ReplaySource
from streamsift.sources.synthetic import SyntheticSource, generate

__all__ = ["ReplaySource", "Source", "SourceError", "SourceRecord", "SyntheticSource", "generate"]
