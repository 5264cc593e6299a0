"""The root Typer application; command modules register on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streamsift import __version__
from streamsift.cli._common import STATE, console
from streamsift.logs import configure_logging

app = typer.Typer(
    name="streamsift",
    help=(
        "Real-time streaming text classification. Every stage of the pipeline is a command:\n\n"
        "infra (Kafka, PostgreSQL, Spark) → produce (a tweet source into Kafka) → "
        "ingest (Spark: Kafka → PostgreSQL raw table) → dataset prepare (dedup + splits) → "
        "label (Snorkel weak supervision) → web (annotation UI) → train (neural classifier + baseline) → "
        "models (registry) → predict (ONNX Runtime) → serve (TF Serving REST + Open Inference Protocol v2)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        console.print(f"streamsift {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (default: ./streamsift.toml, or $STREAMSIFT_CONFIG)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs and full tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    STATE.config = config
    STATE.verbose = verbose
    configure_logging("INFO", verbose=verbose)
