"""``streamsift infra up | down | status`` and ``streamsift config show``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from streamsift.cli._app import app
from streamsift.cli._common import (
    STATE,
    console,
    print_json,
)
from streamsift.config import redacted_dump
from streamsift.errors import StreamsiftError

infra_app = typer.Typer(
    help="Start, stop and check the local Kafka broker and PostgreSQL server (and Spark's jars).",
    no_args_is_help=True,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
app.add_typer(config_app, name="config")


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
    wipe: Annotated[bool, typer.Option("--wipe", help="Also delete Kafka topics and the PostgreSQL data.")] = False,
) -> None:
    """Stop what streamsift started: its background services (model server, worker, web app, act loop
    from `demo --keep-running`), then Kafka and PostgreSQL. A no-op when nothing runs."""
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
        print_json(st)
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
    print_json(redacted_dump(STATE.settings()))
