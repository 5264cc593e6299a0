"""The exception tree of streamsift.

Every error streamsift raises on purpose derives from :class:`StreamsiftError`,
so a caller can catch one class, and the CLI turns it into one clear line::

    StreamsiftError
    ├── ConfigError            a setting is missing, malformed or unsafe
    ├── TableNameError         a table name is not a safe SQL identifier
    ├── InfraError             a local server cannot be started, stopped or reached
    │   ├── PrerequisiteError  Java, the Maven-resolved jars, ... are missing
    │   ├── PortInUseError     another program holds a port we need
    │   ├── StateError         the state folder is unusable or corrupted
    │   └── ServiceUnreachableError  an (external) server does not answer
    └── (stage-specific errors live beside their stages)

Third-party exceptions are converted where the dependency is called.
"""

from __future__ import annotations


class StreamsiftError(Exception):
    """Root of every error streamsift raises on purpose.

    ``hint`` is an optional one-line suggestion of what the user can do.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:  # one line for the CLI
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class ConfigError(StreamsiftError):
    """A setting is missing, malformed or unsafe."""


class TableNameError(StreamsiftError, ValueError):
    """A table name built from config is not a safe SQL identifier."""


class InfraError(StreamsiftError):
    """A local server cannot be started, stopped or reached."""


class PrerequisiteError(InfraError):
    """A program or file the runtime needs (Java, jars, ...) is missing."""


class PortInUseError(InfraError):
    """Another program is listening on a port a local server needs."""


class StateError(InfraError):
    """The state folder is unusable or its contents are corrupted."""


class ServiceUnreachableError(InfraError):
    """A server (local or external) does not answer."""


__all__ = [
    "ConfigError",
    "InfraError",
    "PortInUseError",
    "PrerequisiteError",
    "ServiceUnreachableError",
    "StateError",
    "StreamsiftError",
    "TableNameError",
]
