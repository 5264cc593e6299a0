"""``streamsift train``: the neural classifier on the weak labels, the classical baseline beside it.

train_dataset_<v> (weak labels, golden where present) ─► tokenizer + TweetClassifier (PyTorch)
                                                     ─► TF-IDF + logistic regression (scikit-learn)
dev_dataset_<v> (golden labels when there are enough, else weak) ─► early stopping
test_dataset_<v> (golden when present, else weak) ─► evaluation of both, and of the weak labels
─► registry: <models_dir>/<name>/<version>/ + model_registry row (stage "candidate")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from psycopg import sql

from streamsift.config import Settings
from streamsift.dataset.prepare import split_table
from streamsift.errors import StreamsiftError
from streamsift.store.connection import connect, table_exists

log = logging.getLogger(__name__)

Progress = Callable[[str, int | None], Callable[[int], None]]


class TrainingError(StreamsiftError):
    """Training cannot proceed (no labelled data, ...)."""


def load_split(settings: Settings, split: str) -> pd.DataFrame:
    table = split_table(split, settings.dataset.version)
    with connect(settings.postgres) as conn:
        if not table_exists(conn, table):
            raise TrainingError(
                f"{table} does not exist", hint="run `streamsift dataset prepare` and `streamsift label`"
            )
        cur = conn.execute(
            sql.SQL("SELECT tweet_id, text, weak_label, weak_prob, golden_label FROM {} ORDER BY tweet_id").format(
                sql.Identifier(table)
            )
        )
        df = pd.DataFrame(cur.fetchall(), columns=["tweet_id", "text", "weak_label", "weak_prob", "golden_label"])
    df.attrs["table"] = table
    return df


def targets(df: pd.DataFrame, *, min_golden: int) -> tuple[pd.DataFrame, str]:
    """Rows with a usable label and where it comes from: golden labels if at least ``min_golden``
    exist, else weak labels (golden ones override weak ones in either case)."""
    golden = df["golden_label"].notna()
    if golden.sum() >= min_golden:
        out = df[golden].copy()
        out["y"] = out["golden_label"].astype(int)
        out["w"] = 1.0
        return out, "golden"
    out = df[df["weak_label"].notna() | golden].copy()
    out["y"] = np.where(out["golden_label"].notna(), out["golden_label"], out["weak_label"]).astype(int)
    out["w"] = np.where(out["golden_label"].notna(), 1.0, out["weak_prob"].fillna(1.0)).astype(float)
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


@dataclass
class TrainResult:
    version: int
    path: str
    metrics: dict[str, Any]
    seconds: dict[str, float]


def train(settings: Settings, *, progress: Progress | None = None) -> TrainResult:
    """Train, evaluate and register a new model version (stage ``candidate``)."""
    import torch

    from streamsift.models.evaluate import evaluate_model
    from streamsift.models.network import TweetClassifier
    from streamsift.models.registry import register
    from streamsift.models.tokenizer import Tokenizer

    progress = progress or (lambda _d, _t: lambda _n: None)
    ms, classes = settings.model, list(settings.labeling.classes)
    t0 = time.perf_counter()
    train_df, dev_df, test_df = (load_split(settings, s) for s in ("train", "dev", "test"))
    train_rows, train_source = targets(train_df, min_golden=10**9)  # train on weak labels (+ golden overrides)
    dev_rows, dev_source = targets(dev_df, min_golden=settings.labeling.min_golden_for_auto)
    test_rows, test_source = targets(test_df, min_golden=settings.labeling.min_golden_for_auto)
    if len(train_rows) < 10:
        raise TrainingError(
            f"{train_df.attrs['table']} has only {len(train_rows)} labelled rows: run `streamsift label`"
        )
    if len(set(train_rows["y"])) < 2:
        raise TrainingError("the training labels have a single class: nothing to learn")
    if dev_rows.empty or test_rows.empty:
        raise TrainingError("the dev and test splits need labels (weak or golden): run `streamsift label`")

    torch.manual_seed(ms.seed)
    np.random.seed(ms.seed)
    rng = np.random.default_rng(ms.seed)
    texts_train, cut_train = _clip(train_rows["text"], ms.max_chars)
    texts_dev, _ = _clip(dev_rows["text"], ms.max_chars)
    texts_test, _ = _clip(test_rows["text"], ms.max_chars)
    tok = Tokenizer.fit(texts_train, max_vocab=ms.max_vocab, max_len=ms.max_tokens)
    X_train, cut_tokens = tok.encode(texts_train)
    X_dev, _ = tok.encode(texts_dev)
    X_test, _ = tok.encode(texts_test)
    y_train = train_rows["y"].to_numpy()
    w_train = train_rows["w"].to_numpy() if ms.weight_by_prob else np.ones(len(train_rows))
    y_dev = dev_rows["y"].to_numpy()
    if cut_train or cut_tokens:
        log.info(
            "cut %d texts longer than %d characters and %d beyond %d token features",
            cut_train,
            ms.max_chars,
            cut_tokens,
            ms.max_tokens,
        )

    model = TweetClassifier(tok.size, len(classes), dim=ms.dim, hidden=ms.dim)
    opt = torch.optim.Adam(model.parameters(), lr=ms.learning_rate)
    Xt, yt, wt = torch.from_numpy(X_train), torch.from_numpy(y_train), torch.from_numpy(w_train).float()
    best_state, best_score, bad_epochs, history = None, -1.0, 0, []
    advance = progress("training", ms.epochs * len(Xt))
    for epoch in range(ms.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(Xt)))
        total = 0.0
        for start in range(0, len(order), ms.batch_size):
            idx = order[start : start + ms.batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model.logits(Xt[idx]), yt[idx], reduction="none")
            loss = (loss * wt[idx]).sum() / wt[idx].sum()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            advance(len(idx))
        model.eval()
        with torch.no_grad():
            dev_pred = model(torch.from_numpy(X_dev)).argmax(dim=1).numpy()
        from sklearn.metrics import f1_score

        score = float(f1_score(y_dev, dev_pred, average="macro"))
        history.append({"epoch": epoch + 1, "train_loss": total / len(Xt), "dev_macro_f1": score})
        log.info("epoch %d: loss %.4f, dev macro F1 %.4f (%s labels)", epoch + 1, total / len(Xt), score, dev_source)
        if score > best_score + 1e-4:
            best_score, bad_epochs = score, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= ms.patience:
                log.info("early stop after epoch %d (best dev macro F1 %.4f)", epoch + 1, best_score)
                advance((ms.epochs - epoch - 1) * len(Xt))
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    t_train = time.perf_counter() - t0

    t1 = time.perf_counter()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)
    baseline = LogisticRegression(max_iter=2000, C=4.0)
    baseline.fit(vec.fit_transform(texts_train), y_train, sample_weight=w_train)
    baseline_probs = baseline.predict_proba(vec.transform(texts_test))
    t_baseline = time.perf_counter() - t1

    with torch.no_grad():
        nn_probs = model(torch.from_numpy(X_test)).numpy()
    weak_test = np.array([-1 if pd.isna(v) else int(v) for v in test_rows["weak_label"]])
    metrics = {
        "classes": classes,
        "train": {"table": train_df.attrs["table"], "rows": len(train_rows), "labels": train_source},
        "dev": {
            "table": dev_df.attrs["table"],
            "rows": len(dev_rows),
            "labels": dev_source,
            "best_macro_f1": best_score,
        },
        "test_labels": test_source,
        "history": history,
        "seconds": {"neural": round(t_train, 2), "baseline": round(t_baseline, 2)},
    }
    result = register(
        settings,
        model=model,
        tokenizer=tok,
        metrics=metrics,
        evaluate=lambda out_dir: evaluate_model(
            out_dir, classes, test_rows, nn_probs, baseline_probs, weak_test, test_source
        ),
        train_df=train_rows,
    )
    return result


__all__ = ["TrainResult", "TrainingError", "load_split", "targets", "train"]
