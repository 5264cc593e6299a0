"""``streamsift demo``: the whole loop in one command, with a summary table at the end."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from streamsift.cli._app import app
from streamsift.cli._common import STATE, console, err_console, print_json, progress_bar, rich_progress_hook


@app.command("demo")
def demo_cmd(
    count: Annotated[
        int, typer.Option(min=100, help="Synthetic tweets to build the model from (the default fills every split).")
    ] = 50_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic stream (the live half uses seed + 1).")] = 0,
    live_count: Annotated[
        int, typer.Option(min=1, help="Tweets streamed through live classification once the model is promoted.")
    ] = 5_000,
    live_rate: Annotated[float, typer.Option(min=1, help="Their pace, tweets per second.")] = 1_000.0,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running",
            help="Leave Kafka, PostgreSQL, the model server, the worker, the act loop and the web app up "
            "(`streamsift infra down` stops them all).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
    source: Annotated[
        str,
        typer.Option(
            help="synthetic (the built-in stream, offline), or bluesky: the live Jetstream firehose of new posts "
            "(needs internet; English unless bluesky.languages is set)."
        ),
    ] = "synthetic",
    duration: Annotated[
        float, typer.Option(min=10, help="bluesky: seconds of firehose to build the model from.")
    ] = 300.0,
    live_duration: Annotated[
        float, typer.Option(min=5, help="bluesky: seconds of firehose through live classification.")
    ] = 60.0,
    url: Annotated[str | None, typer.Option(help="bluesky: a Jetstream endpoint (wss://…/subscribe).")] = None,
) -> None:
    """The whole loop, on a fresh machine with nothing running: Kafka and PostgreSQL up → synthetic tweets →
    Kafka → Spark → PostgreSQL → dataset prepare → weak labels (Snorkel) → train → promote → model server,
    live-classification worker and web app started → more tweets classified live → dry-run retweets →
    one TF Serving request; then a table of every stage (rows, seconds, rows/s) and the dashboard's address.

    Without --keep-running everything the demo started is stopped at the end (the data stays in the state
    folder). A failing stage is named with its log file. --source bluesky does the same on the live Bluesky
    firehose for --duration seconds (internet needed).
    """
    from streamsift.demo import DemoOptions, run_demo
    from streamsift.logs import quiet_terminal

    if source not in ("synthetic", "bluesky"):
        raise typer.BadParameter(f"{source!r}: use synthetic or bluesky", param_hint="--source")
    s = STATE.settings()
    quiet_terminal()  # stages and progress bars on the terminal; the details go to the log file
    opts = DemoOptions(
        count=count,
        seed=seed,
        live_count=live_count,
        live_rate=live_rate,
        keep_running=keep_running,
        source=source,
        duration_s=duration,
        live_duration_s=live_duration,
        url=url,
    )
    with progress_bar(None, "demo") as bar:

        def on_stage(i: int, n: int, name: str) -> None:
            bar.console.print(f"[bold]{i}/{n}[/bold] {name}")

        report = run_demo(s, opts, progress=rich_progress_hook(bar), on_stage=on_stage)
    if as_json:
        print_json(report.to_dict())
        return
    table = Table("stage", "rows", "seconds", "rows/s", "what happened", title="streamsift demo", title_justify="left")
    for st in report.stages:
        table.add_row(
            st.stage,
            f"{st.rows:,}" if st.rows is not None else "",
            f"{st.seconds:,.1f}",
            f"{st.per_second:,.0f}" if st.per_second else "",
            st.detail,
        )
    console.print(table)
    m = report.model
    console.print(
        f"model v{m['version']} (test split, {m['test_labels']} labels): neural macro-F1 {m['neural_macro_f1']:.3f} · "
        f"TF-IDF baseline {m['baseline_macro_f1']:.3f} · the weak labels themselves {m['weak_labels_macro_f1']:.3f}; "
        f"LabelModel vs majority vote agreement {report.agreement_label_model_vs_majority:.1%}",
        highlight=False,
    )
    console.print(f"whole loop in {report.seconds:,.0f} s · state in {report.state_dir}", highlight=False)
    login = report.login
    if login.get("password"):
        who = (
            f"log in as [bold]{login['users'][0]}[/bold] with password [bold]{login['password']}[/bold] "
            f"(also in {login['file']})"
        )
    elif login.get("note") == "already running":
        who = f"the web app was already running: log in as before (see {login['file']})"
    else:
        who = f"log in with your web.users account ({', '.join(login.get('users', []))})"
    if report.kept_running:
        console.print(f"dashboard [bold]{report.dashboard_url}[/bold]: {who}", highlight=False)
        console.print("everything is still running; `streamsift infra down` stops it all", highlight=False)
    else:
        err_console.print(
            f"stopped everything the demo started; run `streamsift demo --keep-running` to browse "
            f"{report.dashboard_url} afterwards",
            highlight=False,
        )
