"""What every command module shares: the consoles, the settings read once, progress bars, JSON output."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from streamsift.config import Settings, load_settings
from streamsift.logs import configure_logging

log = logging.getLogger("streamsift.cli")
console = Console()
err_console = Console(stderr=True)


class _State:
    verbose = False
    config: Path | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
            configure_logging(
                self._settings.log_level,
                verbose=self.verbose,
                log_file=self._settings.state.root / "logs" / "streamsift.log",
            )
        return self._settings


STATE = _State()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


class _RateColumn(ProgressColumn):
    """Records per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>9,.0f}/s", style="progress.data.speed")


def progress_bar(total: int | None, description: str) -> Progress:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
    ]
    if total:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=err_console, transient=False)


def rich_progress_hook(bar: Progress):
    def hook(description: str, total: int | None):
        task = bar.add_task(description, total=total)
        if total is not None:
            return lambda n: bar.advance(task, n)
        bar.update(task, completed=1, total=1)  # a step without a count: done once announced
        done = [0]

        def count(n: int) -> None:  # ... unless it counts after all (a stream of unknown length)
            done[0] += n
            bar.update(task, completed=done[0], total=done[0])

        return count

    return hook


def export_hint(paths: list[str]) -> str:
    return str(Path(paths[0]).parent) if paths else "-"
