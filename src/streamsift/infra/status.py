"""What ``infra status`` reports for each service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ServiceStatus:
    """The state of one service, as ``streamsift infra status --json`` prints it."""

    name: str
    embedded: bool
    running: bool
    healthy: bool
    address: str
    pid: int | None = None
    log_file: str | None = None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(d.pop("extra"))
        return d
