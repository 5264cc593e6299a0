"""The ``streamsift`` command line: parses arguments and calls the stage functions.

Every error streamsift raises on purpose is printed as one line (``--verbose``
adds the traceback) and the process exits non-zero.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table

from streamsift import __version__
from streamsift.config import Settings, load_settings, redacted_dump
from streamsift.errors import StreamsiftError
from streamsift.logs import configure_logging

log = logging.getLogger("streamsift.cli")
console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="streamsift",
    help=(
        "Real-time streaming text classification. Every stage of the pipeline is a command:\n\n"
        "infra (Kafka, PostgreSQL, Spark) → produce (a tweet source into Kafka) → "
        "ingest (Spark: Kafka → PostgreSQL raw table)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
infra_app = typer.Typer(
    help="Start, stop and check the local Kafka broker and PostgreSQL server (and Spark's jars).",
    no_args_is_help=True,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
app.add_typer(config_app, name="config")


class _State:
    verbose = False
    config: Path | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
            configure_logging(self._settings.log_level, verbose=self.verbose)
        return self._settings


STATE = _State()


def _version(value: bool) -> None:
    if value:
        console.print(f"streamsift {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML settings file (default: ./streamsift.toml, or $STREAMSIFT_CONFIG)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs and full tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    STATE.config = config
    STATE.verbose = verbose
    configure_logging("INFO", verbose=verbose)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- infra -----------------------------------------------------------------------------------
@infra_app.command("up")
def infra_up() -> None:
    """Start Kafka (KRaft) and PostgreSQL on 127.0.0.1, wait until healthy, create topics and database.

    Idempotent: servers already running are left alone.
    """
    from streamsift.infra import status, up

    s = STATE.settings()
    with console.status("starting Kafka and PostgreSQL…"):
        result = up(s)
    st = status(s)
    started = [k for k, v in result["started"].items() if v]
    msg = f"started {', '.join(started)}" if started else "already running"
    console.print(f"[green]infra up[/green]: {msg} in {result['seconds']:.1f} s")
    console.print(f"  kafka     {st['kafka_bootstrap']}")
    console.print(f"  postgres  {st['postgres_url']}")
    if not st["healthy"]:
        raise StreamsiftError("some services are not healthy: see `streamsift infra status`")


@infra_app.command("down")
def infra_down(
    wipe: Annotated[
        bool, typer.Option("--wipe", help="Also delete Kafka topics and the PostgreSQL data.")
    ] = False,
) -> None:
    """Stop the servers `infra up` started. A no-op when nothing runs."""
    from streamsift.infra import down

    stopped = down(STATE.settings(), wipe=wipe)
    names = [k for k, v in stopped.items() if v]
    console.print(
        f"infra down: {'stopped ' + ', '.join(names) if names else 'nothing was running'}"
        + (" (data wiped)" if wipe else "")
    )


@infra_app.command("status")
def infra_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Health of Kafka, PostgreSQL and Spark, with the addresses to connect to. Exit code 1 if unhealthy."""
    from streamsift.infra import status

    st = status(STATE.settings())
    if as_json:
        _print_json(st)
    else:
        table = Table("service", "healthy", "address", "pid", "detail")
        for name, svc in st["services"].items():
            table.add_row(
                name,
                "[green]yes[/green]" if svc["healthy"] else "[red]no[/red]",
                svc["address"],
                str(svc["pid"] or ""),
                svc["detail"],
            )
        console.print(table)
    if not st["healthy"]:
        raise typer.Exit(1)


# -- config ----------------------------------------------------------------------------------
@config_app.command("show")
def config_show() -> None:
    """Print the effective settings (file + environment + defaults) as JSON; secrets are masked."""
    _print_json(redacted_dump(STATE.settings()))


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
        if STATE.verbose:
            err_console.print_exception()
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last resort, still one line
        if STATE.verbose:
            err_console.print_exception()
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)\n"
        )
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
