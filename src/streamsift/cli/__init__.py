"""The ``streamsift`` command line: parses arguments and calls the stage functions.

One module per command group (``infra``, ``stream``, ``dataset``, ``label``, ``web``, ``models``,
``serve``, ``live``, ``demo``), all registered on the root app of :mod:`streamsift.cli._app`.
Every error streamsift raises on purpose is printed as one line (``--verbose`` adds the traceback;
the log file always has it) and the process exits non-zero.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from streamsift.cli._app import app
from streamsift.cli._common import STATE, err_console, log
from streamsift.errors import StreamsiftError

# Each module registers its commands on `app`; imported in pipeline order, which `--help` lists.
for _group in ("infra", "stream", "dataset", "label", "web", "models", "serve", "live", "demo"):
    importlib.import_module(f"streamsift.cli.{_group}")


def _log_traceback(exc: BaseException) -> Path | None:
    """Put the whole traceback in the log file (not on the terminal); returns the file."""
    from streamsift.logs import log_file_path

    log.error("command failed: %s", exc, exc_info=exc, extra={"file_only": True})
    return log_file_path()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning streamsift errors into one line and an exit code."""
    try:
        rv = app(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except StreamsiftError as exc:
        _log_traceback(exc)
        if STATE.verbose:
            err_console.print_exception()
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last resort, still one line
        logged = _log_traceback(exc)
        if STATE.verbose:
            err_console.print_exception()
        where = f"in {logged}; " if logged else ""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {first} (traceback {where}--verbose prints it)\n")
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


__all__ = ["app", "main"]
