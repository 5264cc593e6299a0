"""Errors of the weak-supervision stage."""

from streamsift.errors import StreamsiftError


class LabelingError(StreamsiftError):
    """Weak labelling cannot proceed (bad LF module, empty table, no model, ...)."""


class LFError(LabelingError):
    """A labeling function raised or returned something that is not a label."""
