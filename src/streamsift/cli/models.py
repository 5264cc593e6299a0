"""``streamsift train``, ``models …`` and ``predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from streamsift.cli._app import app
from streamsift.cli._common import (
    STATE,
    console,
    print_json,
    progress_bar,
    rich_progress_hook,
)

models_app = typer.Typer(help="The model registry: list, show, promote, roll back.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@app.command("train")
def train_cmd(
    force: Annotated[
        bool, typer.Option("--force", help="Register the model even if it is no better than the majority class.")
    ] = False,
) -> None:
    """Train the neural classifier on train_dataset_<v> (weak labels; golden ones weigh more) with the
    TF-IDF + logistic-regression baseline beside it, evaluate on test and on every golden label it did not
    train on (beside the labeling functions, with 95% intervals), and register it as a new candidate.

    A network that does no better on dev than the majority class, or clearly worse than the baseline, is
    not registered unless --force.
    """
    from streamsift.models.train import train

    s = STATE.settings()
    with progress_bar(None, "training") as bar:
        r = train(s, progress=rich_progress_hook(bar), force=force)
    test = r.metrics["test"]
    table = Table("on test (" + test["labels"] + " labels)", "accuracy", "macro F1", "weighted F1", "ROC-AUC")
    # against weak test labels the weak labels are trivially perfect: compare them only on golden ones
    names = (
        ("neural", "baseline_tfidf_logreg", "weak_labels")
        if test["labels"] == "golden"
        else ("neural", "baseline_tfidf_logreg")
    )
    for name in names:
        m = test[name]
        auc = m.get("roc_auc")
        table.add_row(
            name,
            f"{m['accuracy']:.3f}",
            f"{m['macro']['f1']:.3f}",
            f"{m['weighted']['f1']:.3f}",
            "" if auc is None else f"{auc:.3f}",
        )
    console.print(table)
    golden = r.metrics.get("golden_comparison")
    if golden:
        first = next(iter(golden["scores"].values()))
        gt = Table(
            f"on {golden['rows']} golden labels ({golden['from']})",
            "precision",
            "recall",
            f"F1 ({first['scored']})",
            "F1 95% interval",
        )
        for name, m in golden["scores"].items():
            lo, hi = m["f1_ci"]
            gt.add_row(name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", f"{lo:.3f}–{hi:.3f}")
        console.print(gt)
    else:
        console.print("no golden labels outside train: import some (`streamsift label import-golden`) or use the UI")
    g = r.metrics["guard"]
    console.print(
        f"dev ({g['labels']} labels, {g['metric']}): network {g['neural']:.3f}, baseline "
        f"{g['baseline_tfidf_logreg']:.3f}, majority class {g['majority_class']:.3f}"
        + ("  [forced past the guard]" if g["forced"] else "")
    )
    console.print(f"registered {s.model.name} version {r.version} (candidate) at {r.path}")
    console.print(f"seconds: {r.seconds}; promote with `streamsift models promote {r.version}`")


@models_app.command("list")
def models_list_cmd() -> None:
    """Every version of the configured model with its stage and headline test metrics."""
    from streamsift.models.registry import list_models

    rows = list_models(STATE.settings())
    table = Table("version", "stage", "test labels", "neural macro F1", "baseline macro F1", "created")
    for r in rows:
        m = r["metrics"]
        table.add_row(
            str(r["version"]),
            r["stage"],
            str(m.get("test_labels")),
            f"{m['neural']['macro_f1']:.3f}",
            f"{m['baseline_tfidf_logreg']['macro_f1']:.3f}",
            r["created_at"].strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@models_app.command("show")
def models_show_cmd(version: Annotated[int, typer.Argument(help="The version to show.")]) -> None:
    """A version's registry entry and metrics (JSON)."""
    from streamsift.models.registry import get_model

    print_json(get_model(STATE.settings(), version))


@models_app.command("promote")
def models_promote_cmd(version: Annotated[int, typer.Argument(help="The version to put in production.")]) -> None:
    """Put a version in production (the previous one is archived) and announce it on models.events."""
    from streamsift.models.registry import promote

    e = promote(STATE.settings(), version)
    console.print(f"{e['name']} version {e['version']} is in production (was {e['previous_version']}); event sent")


@models_app.command("rollback")
def models_rollback_cmd() -> None:
    """Re-promote the version that was in production before the current one."""
    from streamsift.models.registry import rollback

    e = rollback(STATE.settings())
    console.print(
        f"rolled back: {e['name']} version {e['version']} is in production again "
        f"(was {e['previous_version']}); event sent"
    )


@app.command("predict")
def predict_cmd(
    input_path: Annotated[
        Path | None, typer.Option("--input", "-i", help="JSONL with a 'text' field per line.")
    ] = None,
    output_path: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the scored JSONL.")] = None,
    table: Annotated[
        str | None,
        typer.Option(
            help="Instead of a file: score a split table (e.g. dev_dataset_0) into its model_* columns, "
            "which the annotation UI's uncertain queue then uses."
        ),
    ] = None,
    model_version: Annotated[int | None, typer.Option(help="Score with this version (default: production).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per ONNX Runtime call.")] = 1024,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes that tokenize and score (1 is fastest for files).")
    ] = 1,
) -> None:
    """Score a JSONL file with the production model (or --model-version) using ONNX Runtime, in batches
    (bounded memory); adds label, probability and model_version to each record."""
    from streamsift.models.predict import predict_file, score_table

    if table is not None:
        if input_path or output_path:
            raise typer.BadParameter("use either --table or --input/--output", param_hint="--table")
        with progress_bar(None, "scoring") as bar:
            task = bar.add_task(f"scoring {table}", total=None)
            n, v = score_table(STATE.settings(), table, version=model_version, on_rows=lambda k: bar.advance(task, k))
        console.print(f"scored {n:,} rows of {table} with version {v} (model_label, model_prob, model_version)")
        return
    if input_path is None or output_path is None:
        raise typer.BadParameter("give --input and --output (or --table)", param_hint="--input")
    with progress_bar(None, "scoring") as bar:
        task = bar.add_task("scoring", total=None)
        r = predict_file(
            STATE.settings(),
            input_path,
            output_path,
            version=model_version,
            batch_size=batch_size,
            on_rows=lambda n: bar.advance(task, n),
        )
    console.print(
        f"{r.records:,} records → {output_path}: {r.scored:,} scored with version {r.version}, "
        f"{r.errors:,} with an error, {r.truncated:,} truncated"
    )
