"""``streamsift label``, ``label evaluate``, ``label apply``, ``label import-golden``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from streamsift.cli._app import app
from streamsift.cli._common import (
    STATE,
    console,
    export_hint,
    progress_bar,
    rich_progress_hook,
)

label_app = typer.Typer(
    help="Weak supervision with Snorkel: label the splits, evaluate against golden labels, label files.",
    invoke_without_command=True,
)
app.add_typer(label_app, name="label")


@label_app.callback()
def label_cmd(ctx: typer.Context) -> None:
    """Apply the labeling functions to every split, fit Snorkel's LabelModel on snorkel_train, store weak
    labels in PostgreSQL and as Parquet/CSV, and print the LF analysis with majority vote beside it."""
    if ctx.invoked_subcommand is not None:
        return
    from streamsift.labeling.pipeline import run_labeling

    s = STATE.settings()
    with progress_bar(None, "labeling") as bar:
        result = run_labeling(s, progress=rich_progress_hook(bar))
    summary = result.lf_summary
    table = Table("labeling function", "polarity", "coverage", "overlaps", "conflicts", "emp. acc.")
    for name, r in summary.iterrows():
        acc = "" if r["emp_acc"] != r["emp_acc"] else f"{r['emp_acc']:.2f} ({int(r['correct'] + r['incorrect'])})"
        table.add_row(
            str(name),
            r["polarity"],
            f"{r['coverage']:.3f}",
            f"{r['overlaps']:.3f}",
            f"{r['conflicts']:.3f}",
            acc,
        )
    console.print(table)
    lm, mv = result.dev_scores["label_model"], result.dev_scores["majority"]

    def fmt(sc: dict) -> str:
        return f"{sc['accuracy']:.3f} on {sc['n']} golden dev labels" if sc["accuracy"] is not None else "no golden"

    console.print(
        f"LabelModel: {fmt(lm)}   majority vote: {fmt(mv)}   agreement between them: {result.agreement_lm_mv:.3f}"
    )
    console.print(f"weak labels from [bold]{result.chosen}[/bold] ({result.reason})")
    console.print(f"classes: {result.class_counts}   rows: {result.rows}")
    console.print(f"exports: {export_hint(result.exports)}   seconds: {result.seconds}")


@label_app.command("evaluate")
def label_evaluate_cmd() -> None:
    """Compare weak labels with the golden labels: accuracy, precision, recall, F1, confusion matrix,
    per-LF accuracy, LabelModel vs majority vote. Printed and written as JSON + Markdown."""
    from streamsift.labeling.evaluate import evaluate_labels

    r = evaluate_labels(STATE.settings())
    table = Table("split", "golden", "coverage", "accuracy", "macro F1", "weighted F1")
    for split, m in r["splits"].items():
        table.add_row(
            split,
            str(m["n"]),
            f"{m['coverage']:.3f}",
            f"{m['accuracy']:.3f}",
            f"{m['macro']['f1']:.3f}",
            f"{m['weighted']['f1']:.3f}",
        )
    console.print(table)
    for name, m in r["models"].items():
        console.print(f"{name:12s} accuracy {m['accuracy']:.3f}  macro F1 {m['macro']['f1']:.3f}")
    cm = r["splits"]["all"]["confusion_matrix"]
    console.print(f"confusion matrix (rows golden, columns weak; {cm['labels']}): {cm['matrix']}")
    console.print(f"report: {', '.join(r['files'])}")


@label_app.command("apply")
def label_apply_cmd(
    input_path: Annotated[Path, typer.Option("--input", "-i", help="JSONL with a 'text' field per line.")],
    output_path: Annotated[Path, typer.Option("--output", "-o", help="Where to write the labelled JSONL.")],
) -> None:
    """Weak-label a JSONL file: adds weak_label, weak_label_name and weak_prob to each record.

    Uses the LabelModel fitted by `streamsift label` when its LFs match, else fits one on the input.
    Records every LF abstains on get weak_label null; bad lines keep their place with an 'error'.
    """
    from streamsift.labeling.apply_file import apply_to_file

    with progress_bar(None, "labeling") as bar:
        task = bar.add_task("applying labeling functions", total=None)
        r = apply_to_file(STATE.settings(), input_path, output_path, on_rows=lambda n: bar.advance(task, n))
    console.print(
        f"{r.lines:,} records → {output_path}: {r.labelled:,} labelled, {r.abstained:,} with no LF vote, "
        f"{r.invalid:,} invalid, {r.truncated:,} truncated (model: {r.model})"
    )


@label_app.command("import-golden")
def label_import_golden_cmd(
    path: Annotated[Path, typer.Argument(help="CSV (tweet_id,label) or JSONL ({'id': ..., 'label': ...}).")],
    annotator: Annotated[str, typer.Option(help="Recorded as import:<annotator> beside each label.")] = "import",
    skip: Annotated[
        str, typer.Option(help="Comma-separated labels to leave out (counted, not applied).")
    ] = "ambiguous",
) -> None:
    """Set golden labels from a file wherever those tweet ids sit in the dataset version's splits.

    The file is checked whole first: one bad line (unknown label, bad id, conflicting labels) applies
    nothing and lists the problems. Ids found in no split are reported, not an error. Labels are class
    names (labeling.classes) or their index; the UI's CSV export is accepted as is.
    """
    from streamsift.labeling.golden import import_golden

    r = import_golden(
        STATE.settings(), path, annotator=annotator, skip=[x.strip() for x in skip.split(",") if x.strip()]
    )
    table = Table("split", "golden labels set")
    for split, n in r.matched.items():
        table.add_row(split, f"{n:,}")
    console.print(table)
    console.print(
        f"{r.applied:,} of {r.labels:,} labels applied; {r.unmatched:,} ids are in no split of this dataset "
        f"version; {r.skipped:,} skipped ({skip})"
    )
