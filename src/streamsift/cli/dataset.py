"""``streamsift dataset prepare``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from streamsift.cli._app import app
from streamsift.cli._common import (
    STATE,
    console,
)

dataset_app = typer.Typer(help="Prepare versioned datasets from the raw table.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")


@dataset_app.command("prepare")
def dataset_prepare_cmd(
    raw_version: Annotated[
        int | None, typer.Option(min=0, help="Read raw_<prefix>_<N> instead of the dataset version's own.")
    ] = None,
) -> None:
    """Dedup the raw table on normalised text and split it into test / dev / snorkel_train / train tables.

    Sizes and seed come from [dataset]; smaller data shrinks the splits in proportion (with a warning).
    Re-running a prepared version changes nothing; set dataset.version to make new tables.
    """
    from streamsift.dataset.prepare import prepare_dataset

    r = prepare_dataset(STATE.settings(), raw_version=raw_version)
    verb = "prepared" if r.created else "already prepared"
    console.print(
        f"dataset version {r.version} {verb}: {r.raw_rows:,} raw → {r.dedup_rows:,} distinct in {r.dedup_table}"
    )
    table = Table("split", "table", "rows")
    from streamsift.dataset.prepare import split_table

    for split, n in r.sizes.items():
        table.add_row(split, split_table(split, r.version), f"{n:,}")
    console.print(table)
