"""``streamsift train``: the network on the weak labels (golden ones weigh more), the baseline beside it.

    train_dataset_<v>  weak labels, golden where present ─► tokenizer + TweetClassifier (PyTorch, fit.py)
                                                       ─► TF-IDF + logistic regression (the baseline)
    dev_dataset_<v>    golden labels when there are enough, else weak ─► model selection, the guard
    test_dataset_<v>   golden when there are enough, else weak ─► evaluation, plots, worst errors
    golden rows the network never trained on ─► network vs baseline vs LFs (LabelModel, majority)
                                                 vs ensemble, with bootstrap intervals
    ─► a staged folder (artifacts.py) ─► the registry stores it as a ``candidate``

The guard: a network that does no better on dev than predicting the majority class, or
clearly worse than the baseline, is not registered (a :class:`ModelRejectedError` says
why) unless ``force``.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from psycopg import sql

from streamsift.config import Settings
from streamsift.dataset.prepare import SPLITS, split_table
from streamsift.errors import StreamsiftError
from streamsift.store.connection import connect, table_exists

log = logging.getLogger(__name__)

Progress = Callable[[str, int | None], Callable[[int], None]]

#: The network may trail the baseline on dev by this much before it is refused.
BASELINE_TOLERANCE = 0.01


class TrainingError(StreamsiftError):
    """Training cannot proceed (no labelled data, ...)."""


class ModelRejectedError(TrainingError):
    """The trained network is not worth registering (see the module docstring); ``--force`` registers it."""


def load_split(settings: Settings, split: str) -> pd.DataFrame:
    table = split_table(split, settings.dataset.version)
    with connect(settings.postgres) as conn:
        if not table_exists(conn, table):
            raise TrainingError(
                f"{table} does not exist", hint="run `streamsift dataset prepare` and `streamsift label`"
            )
        cur = conn.execute(
            sql.SQL(
                "SELECT tweet_id, text, weak_label, weak_prob, golden_label, lf_votes FROM {} ORDER BY tweet_id"
            ).format(sql.Identifier(table))
        )
        df = pd.DataFrame(
            cur.fetchall(), columns=["tweet_id", "text", "weak_label", "weak_prob", "golden_label", "lf_votes"]
        )
    df.attrs["table"] = table
    df["split"] = split
    return df


def targets(df: pd.DataFrame, *, min_golden: int, golden_weight: float = 1.0) -> tuple[pd.DataFrame, str]:
    """Rows with a usable label and where it comes from: golden labels if at least ``min_golden``
    exist, else weak labels (golden ones override weak ones, weighing ``golden_weight``)."""
    golden = df["golden_label"].notna()
    if golden.sum() >= min_golden:
        out = df[golden].copy()
        out["y"] = out["golden_label"].astype(int)
        out["w"] = 1.0
        return out, "golden"
    out = df[df["weak_label"].notna() | golden].copy()
    is_golden = out["golden_label"].notna()
    out["y"] = np.where(is_golden, out["golden_label"], out["weak_label"]).astype(int)
    out["w"] = np.where(is_golden, golden_weight, out["weak_prob"].fillna(1.0)).astype(float)
    return out, "weak"


def _clip(texts: pd.Series, max_chars: int) -> tuple[list[str], int]:
    out, cut = [], 0
    for t in texts:
        t = t if isinstance(t, str) else ""
        if len(t) > max_chars:
            cut += 1
            t = t[:max_chars]
        out.append(t)
    return out, cut


def headline_score(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """F1 of the positive class (binary) or macro F1: what selection and the guard compare."""
    from sklearn.metrics import f1_score

    if n_classes == 2:
        return float(f1_score(y, pred, labels=[1], average="macro", zero_division=0))
    return float(f1_score(y, pred, labels=list(range(n_classes)), average="macro", zero_division=0))


@dataclass
class TrainResult:
    version: int
    path: str
    metrics: dict[str, Any]
    seconds: dict[str, float]


def _lf_predictions(settings: Settings, rows: pd.DataFrame, k: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(labels, probs) of the LabelModel ``label`` fitted and of majority vote, from the stored LF votes."""
    from streamsift.labeling.model import load_model, predict_label_model, predict_majority
    from streamsift.labeling.pipeline import model_path

    votes = [v for v in rows["lf_votes"] if v is not None]
    if len(votes) != len(rows) or not votes:
        return {}
    L = np.array([list(v) for v in rows["lf_votes"]], dtype=int)
    out = {}
    mv = predict_majority(L, k)
    out["lfs_majority_vote"] = (mv.labels, mv.probs)
    path = model_path(settings)
    if path.exists():
        model, names, _classes = load_model(path)
        if len(names) == L.shape[1]:
            lm = predict_label_model(model, L)
            out["lfs_label_model"] = (lm.labels, lm.probs)
    return out


def compare_on_golden(
    settings: Settings, frames: dict[str, pd.DataFrame], predict: Callable[[list[str]], dict[str, np.ndarray]]
) -> dict[str, Any] | None:
    """Every model on the same golden rows the network did not train on (test first, else dev/snorkel_train)."""
    from streamsift.models.evaluate import bootstrap_scores

    classes = list(settings.labeling.classes)
    k = len(classes)
    golden = {s: df[df["golden_label"].notna()] for s, df in frames.items() if s != "train"}
    if len(golden["test"]) >= settings.labeling.min_golden_for_auto:
        rows, where = golden["test"], "test"
    else:
        rows = pd.concat([g for g in golden.values() if len(g)]) if any(len(g) for g in golden.values()) else None
        where = "test, dev and snorkel_train"
        if rows is None or len(rows) == 0:
            return None
    y = rows["golden_label"].astype(int).to_numpy()
    texts, _ = _clip(rows["text"], settings.model.max_chars)
    probs = predict(texts)
    preds = {name: p.argmax(axis=1) for name, p in probs.items()}
    lfs = _lf_predictions(settings, rows, k)
    for name, (labels, _p) in lfs.items():
        preds[name] = labels
    if "lfs_label_model" in lfs:
        ensemble = (probs["neural"] + lfs["lfs_label_model"][1]) / 2
        preds["ensemble_neural_label_model"] = ensemble.argmax(axis=1)
    scores = bootstrap_scores(y, preds, classes)
    return {"rows": len(y), "from": where, "scores": scores}


def train(settings: Settings, *, progress: Progress | None = None, force: bool = False) -> TrainResult:
    """Train, evaluate and register a new model version (stage ``candidate``); see the module docstring."""
    import torch

    from streamsift.models.artifacts import data_fingerprint, git_commit, write_json, write_model_files
    from streamsift.models.baseline import fit_baseline
    from streamsift.models.evaluate import evaluate_model
    from streamsift.models.fit import FitConfig, fit_network, planned_steps
    from streamsift.models.network import ONNX_OPSET, TweetClassifier
    from streamsift.models.registry import register, staging_dir
    from streamsift.models.tokenizer import Tokenizer

    progress = progress or (lambda _d, _t: lambda _n: None)
    ms, classes = settings.model, list(settings.labeling.classes)
    k = len(classes)
    min_golden = settings.labeling.min_golden_for_auto
    t0 = time.perf_counter()
    frames = {s: load_split(settings, s) for s in SPLITS}
    train_rows, _ = targets(frames["train"], min_golden=10**9, golden_weight=ms.golden_weight)
    dev_rows, dev_source = targets(frames["dev"], min_golden=min_golden)
    test_rows, test_source = targets(frames["test"], min_golden=min_golden)
    n_golden_train = int(frames["train"]["golden_label"].notna().sum())
    if len(train_rows) < 10:
        raise TrainingError(
            f"{frames['train'].attrs['table']} has only {len(train_rows)} labelled rows: run `streamsift label`"
        )
    if len(set(train_rows["y"])) < 2:
        raise TrainingError("the training labels have a single class: nothing to learn")
    if dev_rows.empty or test_rows.empty:
        raise TrainingError("the dev and test splits need labels (weak or golden): run `streamsift label`")

    texts_train, cut_train = _clip(train_rows["text"], ms.max_chars)
    texts_dev, _ = _clip(dev_rows["text"], ms.max_chars)
    texts_test, _ = _clip(test_rows["text"], ms.max_chars)
    tok = Tokenizer.fit(texts_train, max_vocab=ms.max_vocab, max_len=ms.max_tokens, n_hash=ms.hash_buckets)
    X_train, cut_tokens = tok.encode(texts_train)
    X_dev, _ = tok.encode(texts_dev)
    X_test, _ = tok.encode(texts_test)
    y_train, y_dev = train_rows["y"].to_numpy(), dev_rows["y"].to_numpy()
    w_train = (
        train_rows["w"].to_numpy()
        if ms.weight_by_prob
        else np.where(train_rows["golden_label"].notna(), ms.golden_weight, 1.0)
    )
    if cut_train or cut_tokens:
        log.info(
            "cut %d texts longer than %d characters and %d beyond %d tokens",
            cut_train,
            ms.max_chars,
            cut_tokens,
            ms.max_tokens,
        )

    cfg = FitConfig(
        epochs=ms.epochs,
        batch_size=ms.batch_size,
        learning_rate=ms.learning_rate,
        min_steps=ms.min_steps,
        eval_every=ms.eval_every,
        patience_steps=ms.patience_steps,
        balance=ms.class_balance,
        seed=ms.seed,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same result on any machine: no thread-count-dependent sums
    try:
        torch.manual_seed(ms.seed)
        model = TweetClassifier(tok.size, k, dim=ms.dim, hidden=ms.hidden, bigram_buckets=ms.bigram_buckets)
        fit = fit_network(
            model,
            X_train,
            y_train,
            w_train,
            X_dev,
            lambda p: headline_score(y_dev, p.argmax(axis=1), k),
            cfg,
            advance=progress("training", planned_steps(len(X_train), cfg)),
        )
        with torch.no_grad():
            nn_test = model(torch.from_numpy(X_test)).numpy()
    finally:
        torch.set_num_threads(threads)
    t_train = time.perf_counter() - t0

    t1 = time.perf_counter()
    baseline = fit_baseline(texts_train, y_train, w_train)
    baseline_test = baseline.predict_proba(texts_test)
    baseline_dev = headline_score(y_dev, baseline.predict_proba(texts_dev).argmax(axis=1), k)
    t_baseline = time.perf_counter() - t1

    majority = int(np.bincount(y_dev, minlength=k).argmax())
    majority_dev = headline_score(y_dev, np.full(len(y_dev), majority), k)
    guard = {
        "metric": "F1 of the positive class" if k == 2 else "macro F1",
        "neural": fit.best_score,
        "baseline_tfidf_logreg": baseline_dev,
        "majority_class": majority_dev,
        "labels": dev_source,
    }
    problems = []
    if fit.best_score <= majority_dev + 1e-9:
        problems.append(f"no better than always predicting {classes[majority]!r} ({majority_dev:.3f})")
    if fit.best_score < baseline_dev - BASELINE_TOLERANCE:
        problems.append(f"worse than the TF-IDF baseline ({baseline_dev:.3f})")

    def predict_all(texts: list[str]) -> dict[str, np.ndarray]:
        ids, _ = tok.encode(texts)
        with torch.no_grad():
            nn = model(torch.from_numpy(ids)).numpy()
        return {"neural": nn, "baseline_tfidf_logreg": baseline.predict_proba(texts)}

    golden_report = compare_on_golden(settings, frames, predict_all)
    metrics: dict[str, Any] = {
        "classes": classes,
        "architecture": model.config,
        "train": {
            "table": frames["train"].attrs["table"],
            "rows": len(train_rows),
            "labels": "weak" if not n_golden_train else f"weak + {n_golden_train} golden (weight {ms.golden_weight})",
            "steps": fit.steps,
        },
        "dev": {
            "table": frames["dev"].attrs["table"],
            "rows": len(dev_rows),
            "labels": dev_source,
            "best_score": fit.best_score,
            "best_step": fit.best_step,
        },
        "guard": {**guard, "passed": not problems, "forced": bool(problems and force)},
        "test_labels": test_source,
        "golden_comparison": golden_report,
        "history": fit.history,
        "seconds": {"neural": round(t_train, 2), "baseline": round(t_baseline, 2)},
        "onnx_opset": ONNX_OPSET,
    }
    if problems:
        msg = f"the network's dev {guard['metric']} {fit.best_score:.3f} ({dev_source} labels) is " + " and ".join(
            problems
        )
        if not force:
            raise ModelRejectedError(f"not registered: {msg}", hint="look at the data and labels, or pass --force")
        log.warning("registering anyway (--force): %s", msg)

    weak_test = np.array([-1 if pd.isna(v) else int(v) for v in test_rows["weak_label"]])
    staged = staging_dir(settings)
    try:
        write_model_files(staged, model=model, tokenizer=tok, max_len=tok.max_len)
        metrics["test"] = evaluate_model(
            staged / "reports", classes, test_rows, nn_test, baseline_test, weak_test, test_source
        )
        fingerprint = {"data": data_fingerprint(metrics["train"]["table"], train_rows), "code": git_commit()}
        config = {
            "model": ms.model_dump(mode="json"),
            "labeling_classes": classes,
            "dataset_version": settings.dataset.version,
        }
        write_json(staged, metrics=metrics, fingerprint=fingerprint, config=config)
        reg = register(settings, staged, metrics=metrics, fingerprint=fingerprint)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return TrainResult(reg.version, reg.path, metrics, metrics["seconds"])


__all__ = ["ModelRejectedError", "TrainResult", "TrainingError", "compare_on_golden", "load_split", "targets", "train"]
