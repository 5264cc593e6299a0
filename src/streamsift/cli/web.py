"""``streamsift web``: the annotation UI, the live dashboard, and the account helpers."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from streamsift.cli._app import app
from streamsift.cli._common import (
    STATE,
    console,
    err_console,
)
from streamsift.errors import StreamsiftError

web_app = typer.Typer(
    help="The web app: the annotation UI (golden labels for the weakly labelled tables) and the live dashboard.",
    invoke_without_command=True,
)
app.add_typer(web_app, name="web")


@web_app.callback()
def web_cmd(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: web.port).")] = None,
) -> None:
    """Serve the annotation UI (keyboard-first labelling, queues, agreement, export/import) and the live
    dashboard (/dashboard: AI tweets, charts, pipeline health) on 127.0.0.1."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from streamsift.web.app import create_app
    from streamsift.web.auth import user_store

    s = STATE.settings()
    users = user_store(s.web)
    application = create_app(s, users=users)
    host, p = s.web.host, port or s.web.port
    from streamsift.infra.process import require_free_port

    require_free_port(host, p, service="the web UI", setting="web.port")
    if users.generated_password:
        err_console.print(
            "[yellow]development mode, no annotators configured:[/yellow] log in as [bold]admin[/bold] with the "
            f"one-time password [bold]{users.generated_password}[/bold] (set web.users for real accounts)"
        )
    console.print(f"annotation UI on http://{host}:{p}/ · dashboard http://{host}:{p}/dashboard  (API docs at /docs)")
    uvicorn.run(application, host=host, port=p, log_level="warning")


@web_app.command("hash-password")
def web_hash_password(
    user: Annotated[str, typer.Argument(help="The annotator's user name.")],
) -> None:
    """Print a password hash for web.users (the password is read from the terminal, or stdin if piped)."""
    import getpass

    from streamsift.web.auth import hash_password

    password = getpass.getpass(f"password for {user}: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not password:
        raise StreamsiftError(
            "no password given",
            hint=f"run `streamsift web hash-password {user}` in a terminal, or pipe the password in",
        )
    if len(password) < 8:
        raise StreamsiftError("use a password of at least 8 characters")
    h = hash_password(password)
    console.print(f'[web.users]\n{user} = "{h}"', markup=False, highlight=False, soft_wrap=True)


@web_app.command("assign")
def web_assign(
    table: Annotated[str, typer.Option(help="A split table, e.g. dev_dataset_0.")],
    annotators: Annotated[str, typer.Option(help="Comma-separated user names; each gets every item.")],
    count: Annotated[int, typer.Option(min=1, help="How many unlabelled items (most uncertain first).")] = 100,
) -> None:
    """Assign the same items to several annotators (their 'assigned' queue), for agreement and kappa."""
    from streamsift.web.store import AnnotationStore

    names = [a.strip() for a in annotators.split(",") if a.strip()]
    n = AnnotationStore(STATE.settings()).assign(table, names, count)
    console.print(f"assigned {n} items of {table} to {', '.join(names)}")
