"""``streamsift label evaluate``: weak labels against the golden labels built by annotation."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from psycopg import sql
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from streamsift.config import Settings
from streamsift.dataset.prepare import SPLITS, split_table
from streamsift.labeling.apply import apply_lfs
from streamsift.labeling.errors import LabelingError
from streamsift.labeling.model import load_model, predict_label_model, predict_majority
from streamsift.labeling.pipeline import lf_summary, model_path
from streamsift.labeling.registry import load_lfs
from streamsift.store.connection import connect, table_exists

log = logging.getLogger(__name__)


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Accuracy, per-class / macro / weighted precision-recall-F1 and the confusion matrix.

    ``y_pred`` of -1 (no weak label) counts as wrong; ``coverage`` says how often that happened.
    """
    labels = list(range(len(classes)))
    covered = y_pred >= 0
    out: dict[str, Any] = {
        "n": len(y_true),
        "coverage": float(covered.mean()) if len(y_true) else 0.0,
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else None,
    }
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out["per_class"] = {
        c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
        for i, c in enumerate(classes)
    }
    for avg in ("macro", "weighted"):
        pa, ra, fa, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg, zero_division=0)
        out[avg] = {"precision": float(pa), "recall": float(ra), "f1": float(fa)}
    if len(classes) == 2:
        out["binary_positive_class"] = classes[1]
        out["binary"] = out["per_class"][classes[1]]
    out["confusion_matrix"] = {
        "labels": [*classes, "(none)"],
        "matrix": confusion_matrix(
            np.where(y_true < 0, len(classes), y_true),
            np.where(y_pred < 0, len(classes), y_pred),
            labels=[*labels, len(classes)],
        ).tolist(),
    }
    return out


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"# Weak labels vs golden labels (dataset version {report['version']})", ""]
    lines.append(f"Golden labels: {report['n_golden']}. Weak labels stored from: {report['stored_model']}.")
    lines += ["", "| split | n | coverage | accuracy | macro F1 | weighted F1 |", "|---|---|---|---|---|---|"]
    for split, r in report["splits"].items():
        lines.append(
            f"| {split} | {r['n']} | {r['coverage']:.3f} | {r['accuracy']:.3f} | {r['macro']['f1']:.3f} "
            f"| {r['weighted']['f1']:.3f} |"
        )
    lines += ["", "| model | accuracy on golden rows | coverage |", "|---|---|---|"]
    for name, r in report["models"].items():
        lines.append(f"| {name} | {r['accuracy']:.3f} | {r['coverage']:.3f} |")
    lines += ["", "| labeling function | coverage (golden rows) | empirical accuracy |", "|---|---|---|"]
    for lf, r in report["lfs"].items():
        acc = "" if r["emp_acc"] is None else f"{r['emp_acc']:.3f}"
        lines.append(f"| {lf} | {r['coverage']:.3f} | {acc} |")
    return "\n".join(lines) + "\n"


def evaluate_labels(settings: Settings, *, out_dir: Path | None = None) -> dict[str, Any]:
    """Compare stored weak labels, the LabelModel and majority vote with ``golden_label``."""
    version = settings.dataset.version
    classes = list(settings.labeling.classes)
    frames = []
    with connect(settings.postgres) as conn:
        for split in SPLITS:
            table = split_table(split, version)
            if not table_exists(conn, table):
                raise LabelingError(f"{table} does not exist", hint="run `streamsift dataset prepare`")
            cur = conn.execute(
                sql.SQL(
                    "SELECT tweet_id, text, urls, hashtags, is_retweet, golden_label, weak_label FROM {} "
                    "WHERE golden_label IS NOT NULL ORDER BY tweet_id"
                ).format(sql.Identifier(table))
            )
            df = pd.DataFrame(
                cur.fetchall(),
                columns=["tweet_id", "text", "urls", "hashtags", "is_retweet", "golden_label", "weak_label"],
            )
            df["split"] = split
            frames.append(df)
    gold = pd.concat(frames, ignore_index=True)
    if gold.empty:
        raise LabelingError(
            f"no golden labels in dataset version {version} yet",
            hint="label some items in the annotation UI, or import a CSV of golden labels",
        )
    y = gold["golden_label"].astype(int).to_numpy()
    weak = np.array([-1 if pd.isna(v) else int(v) for v in gold["weak_label"]], dtype=int)
    report: dict[str, Any] = {"version": version, "classes": classes, "n_golden": len(gold), "splits": {}}
    for split in SPLITS:
        m = (gold["split"] == split).to_numpy()
        if m.any():
            report["splits"][split] = classification_report(y[m], weak[m], classes)
    report["splits"]["all"] = classification_report(y, weak, classes)

    lfs = load_lfs(settings.labeling)
    L = apply_lfs(gold, lfs, len(classes), workers=settings.labeling.workers)
    summary = lf_summary(L, lfs, L, y)
    report["lfs"] = {
        name: {
            "coverage": float(r["coverage"]),
            "emp_acc": None if pd.isna(r["emp_acc"]) else float(r["emp_acc"]),
            "correct": int(r["correct"]),
            "incorrect": int(r["incorrect"]),
        }
        for name, r in summary.iterrows()
    }
    models = {"majority": predict_majority(L, len(classes)).labels}
    path = model_path(settings)
    if path.exists():
        model, names, _ = load_model(path)
        if names == [lf.name for lf in lfs]:
            models["label_model"] = predict_label_model(model, L).labels
        else:
            log.warning("the saved LabelModel was fitted on other LFs: re-run `streamsift label` to compare it")
    report["models"] = {name: classification_report(y, pred, classes) for name, pred in models.items()}
    meta = path.parent / "labeling.json"
    report["stored_model"] = json.loads(meta.read_text())["chosen"] if meta.exists() else "unknown"

    out_dir = out_dir or settings.state.root / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"label_evaluation_v{version}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=2))
    base.with_suffix(".md").write_text(_markdown(report))
    report["files"] = [str(base.with_suffix(".json")), str(base.with_suffix(".md"))]
    return report
