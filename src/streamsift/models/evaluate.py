"""Evaluation of a trained model on the test split: metrics, PNG plots, the worst errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_auc_score

from streamsift.labeling.evaluate import classification_report

log = logging.getLogger(__name__)


def _auc(y: np.ndarray, probs: np.ndarray) -> float | None:
    try:
        if probs.shape[1] == 2:
            return float(roc_auc_score(y, probs[:, 1]))
        return float(roc_auc_score(y, probs, multi_class="ovr", average="weighted"))
    except ValueError:  # one class only in y
        return None


def scores(y: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict[str, Any]:
    report = classification_report(y, probs.argmax(axis=1), classes)
    report["roc_auc"] = _auc(y, probs)
    return report


def _plots(out: Path, y: np.ndarray, curves: dict[str, np.ndarray], positive: int) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, probs in curves.items():
        p, r, _ = precision_recall_curve(y == positive, probs[:, positive])
        ax.plot(r, p, label=name)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall on the test split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "pr_curve.png", dpi=110)
    plt.close(fig)
    files.append(str(out / "pr_curve.png"))

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot([0, 1], [0, 1], "k:", label="perfectly calibrated")
    for name, probs in curves.items():
        conf = probs[:, positive]
        bins = np.linspace(0, 1, 11)
        idx = np.clip(np.digitize(conf, bins) - 1, 0, 9)
        xs, ys = [], []
        for b in range(10):
            m = idx == b
            if m.sum() >= 5:
                xs.append(conf[m].mean())
                ys.append((y[m] == positive).mean())
        ax.plot(xs, ys, "o-", label=name)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("Calibration on the test split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=110)
    plt.close(fig)
    files.append(str(out / "calibration.png"))
    return files


def evaluate_model(
    out_dir: Path,
    classes: list[str],
    test_rows: pd.DataFrame,
    nn_probs: np.ndarray,
    baseline_probs: np.ndarray,
    weak_labels: np.ndarray,
    label_source: str,
) -> dict[str, Any]:
    """Metrics of the network, the baseline and the weak labels on the test rows; plots; worst errors."""
    out_dir.mkdir(parents=True, exist_ok=True)
    y = test_rows["y"].to_numpy()
    weak_onehot = np.zeros((len(y), len(classes)))
    covered = weak_labels >= 0
    weak_onehot[covered, weak_labels[covered]] = 1.0
    weak_report = classification_report(y, weak_labels, classes)
    result = {
        "labels": label_source,
        "n": len(y),
        "neural": scores(y, nn_probs, classes),
        "baseline_tfidf_logreg": scores(y, baseline_probs, classes),
        "weak_labels": weak_report,
    }
    positive = len(classes) - 1
    result["plots"] = _plots(out_dir, y, {"neural": nn_probs, "tf-idf + logreg": baseline_probs}, positive)
    # the 20 most confident mistakes of the network
    pred = nn_probs.argmax(axis=1)
    wrong = np.where(pred != y)[0]
    order = wrong[np.argsort(-nn_probs[wrong, pred[wrong]])][:20]
    errors = pd.DataFrame(
        {
            "tweet_id": test_rows["tweet_id"].to_numpy()[order],
            "label": [classes[i] for i in y[order]],
            "predicted": [classes[i] for i in pred[order]],
            "probability": nn_probs[order, pred[order]].round(4),
            "text": test_rows["text"].to_numpy()[order],
        }
    )
    errors.to_csv(out_dir / "worst_errors.csv", index=False)
    result["worst_errors"] = str(out_dir / "worst_errors.csv")
    return result


def bootstrap_scores(
    y: np.ndarray, preds: dict[str, np.ndarray], classes: list[str], *, n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Precision, recall and F1 of several predictors on the same rows, with bootstrap 95% intervals.

    Binary label spaces score the positive class (the last one); others the macro average.
    A prediction of -1 (no label, e.g. every LF abstained) counts as the first class.
    The resamples are shared by all predictors, so their intervals are comparable.
    """
    from sklearn.metrics import precision_recall_fscore_support

    labels = list(range(len(classes)))
    binary = len(classes) == 2

    def prf(yt: np.ndarray, yp: np.ndarray) -> tuple[float, float, float]:
        if binary:
            p, r, f, _ = precision_recall_fscore_support(yt, yp, labels=[1], average=None, zero_division=0)
            return float(p[0]), float(r[0]), float(f[0])
        p, r, f, _ = precision_recall_fscore_support(yt, yp, labels=labels, average="macro", zero_division=0)
        return float(p), float(r), float(f)

    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(y), len(y)) for _ in range(n_boot)] if len(y) else []
    out: dict[str, dict[str, Any]] = {}
    for name, pred in preds.items():
        pred = np.where(pred < 0, 0, pred)
        p, r, f = prf(y, pred)
        boot = np.array([prf(y[i], pred[i]) for i in samples]) if samples else np.zeros((1, 3))
        lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
        out[name] = {
            "precision": p,
            "recall": r,
            "f1": f,
            "precision_ci": [float(lo[0]), float(hi[0])],
            "recall_ci": [float(lo[1]), float(hi[1])],
            "f1_ci": [float(lo[2]), float(hi[2])],
            "n": len(y),
            "scored": f"{classes[1]} (positive class)" if binary else "macro average",
        }
    return out
