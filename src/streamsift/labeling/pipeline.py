"""``streamsift label``: weak-label every split of a dataset version.

split tables ─► labeling functions (parallel) ─► L matrices
L[snorkel_train] ─► fit LabelModel          ┐
every split ─► LabelModel and majority vote ┴► choose (golden dev labels decide, when there are enough)
            ─► weak_label / weak_prob / weak_probs written back (one transaction)
            ─► lf_summary_<v> table, Parquet + CSV under <state>/datasets/v<v>/, the fitted model
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from snorkel.labeling import LabelingFunction, LFAnalysis

from streamsift.config import Settings
from streamsift.dataset.prepare import SPLITS, split_table
from streamsift.labeling.apply import apply_lfs
from streamsift.labeling.errors import LabelingError
from streamsift.labeling.model import (
    WeakLabels,
    _quiet,
    fit_label_model,
    inverted_lfs,
    predict_label_model,
    predict_majority,
    save_model,
)
from streamsift.labeling.registry import load_lfs
from streamsift.store.connection import connect, table_exists
from streamsift.store.tables import versioned

log = logging.getLogger(__name__)

#: ``progress(description, total)`` returns a callable to advance by n; the CLI passes a rich bar.
Progress = Callable[[str, int | None], Callable[[int], None]]

READ_COLUMNS = ("tweet_id", "text", "urls", "hashtags", "is_retweet", "lang", "golden_label")


def _no_progress(_description: str, _total: int | None) -> Callable[[int], None]:
    return lambda _n: None


def labeling_dir(settings: Settings, version: int | None = None) -> Path:
    return settings.state.root / "labeling" / f"v{settings.dataset.version if version is None else version}"


def export_dir(settings: Settings, version: int | None = None) -> Path:
    return settings.state.root / "datasets" / f"v{settings.dataset.version if version is None else version}"


def model_path(settings: Settings, version: int | None = None) -> Path:
    return labeling_dir(settings, version) / "label_model.pkl"


def read_split(conn: psycopg.Connection, table: str) -> pd.DataFrame:
    cols = sql.SQL(", ").join(map(sql.Identifier, READ_COLUMNS))
    cur = conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY tweet_id").format(cols, sql.Identifier(table)))
    return pd.DataFrame(cur.fetchall(), columns=list(READ_COLUMNS))


@dataclass
class ModelScores:
    """How weak labels compare with golden labels (on rows that have both)."""

    n: int
    accuracy: float | None

    @classmethod
    def of(cls, weak: np.ndarray, golden: np.ndarray) -> ModelScores:
        has = (golden >= 0) & (weak >= 0)
        n = int(has.sum())
        return cls(n, float((weak[has] == golden[has]).mean()) if n else None)


@dataclass
class LabelingResult:
    version: int
    lfs: list[str]
    chosen: str
    reason: str
    rows: dict[str, int]
    labelled: dict[str, int]
    class_counts: dict[str, int]
    dev_scores: dict[str, dict[str, Any]]
    agreement_lm_mv: float
    exports: list[str]
    lf_summary: pd.DataFrame = field(repr=False)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "lf_summary"}
        d["lf_summary"] = json.loads(self.lf_summary.to_json(orient="index"))
        return d


def lf_summary(L: np.ndarray, lfs: list[LabelingFunction], L_gold: np.ndarray, y_gold: np.ndarray) -> pd.DataFrame:
    """Snorkel's LF analysis on ``L`` (polarity, coverage, overlaps, conflicts) plus empirical
    accuracy on the rows that have golden labels."""
    with _quiet():
        summary = LFAnalysis(L, lfs).lf_summary()
    summary["polarity"] = summary.pop("Polarity").map(lambda p: ",".join(str(int(v)) for v in p))
    summary = summary.rename(columns={"Coverage": "coverage", "Overlaps": "overlaps", "Conflicts": "conflicts"})
    summary = summary.drop(columns=["j"])
    if len(y_gold):
        with _quiet():
            gold = LFAnalysis(L_gold, lfs).lf_summary(Y=y_gold)
        summary["correct"] = gold["Correct"].astype(int)
        summary["incorrect"] = gold["Incorrect"].astype(int)
        summary["emp_acc"] = gold["Emp. Acc."].astype(float)
    else:
        summary["correct"] = 0
        summary["incorrect"] = 0
        summary["emp_acc"] = np.nan
    summary["n_golden"] = len(y_gold)
    summary.index.name = "lf"
    return summary


def _choose(
    settings: Settings, lm: dict[str, WeakLabels], mv: dict[str, WeakLabels], golden: dict[str, np.ndarray]
) -> tuple[str, str, dict[str, dict[str, Any]]]:
    dev_gold = golden["dev"]
    lm_s, mv_s = ModelScores.of(lm["dev"].labels, dev_gold), ModelScores.of(mv["dev"].labels, dev_gold)
    scores = {"label_model": lm_s.__dict__, "majority": mv_s.__dict__}
    wanted = settings.labeling.model
    if wanted != "auto":
        return wanted, f"labeling.model = {wanted}", scores
    if lm_s.n >= settings.labeling.min_golden_for_auto and lm_s.accuracy is not None:
        if (mv_s.accuracy or 0) > lm_s.accuracy:
            return "majority", f"majority vote beats the LabelModel on {lm_s.n} golden dev labels", scores
        return "label_model", f"the LabelModel is at least as good on {lm_s.n} golden dev labels", scores
    return (
        "label_model",
        f"fewer than {settings.labeling.min_golden_for_auto} golden dev labels: LabelModel by default",
        scores,
    )


def _write_labels(
    conn: psycopg.Connection,
    tables: dict[str, str],
    frames: dict[str, pd.DataFrame],
    chosen: dict[str, WeakLabels],
    L: dict[str, np.ndarray],
) -> None:
    """Store weak labels and LF votes of every split in one transaction (all or nothing)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE _weak (tweet_id bigint PRIMARY KEY, weak_label smallint, weak_prob real,"
            " weak_probs real[], lf_votes smallint[], lf_conflict boolean) ON COMMIT DROP"
        )
        for split, table in tables.items():
            t = sql.Identifier(table)
            for ddl in ("lf_votes smallint[]", "lf_conflict boolean NOT NULL DEFAULT false"):  # older versions
                cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS " + ddl).format(t))
            w, ids, votes = chosen[split], frames[split]["tweet_id"].to_numpy(), L[split]
            cur.execute("TRUNCATE _weak")
            with cur.copy(
                "COPY _weak (tweet_id, weak_label, weak_prob, weak_probs, lf_votes, lf_conflict) FROM STDIN"
            ) as cp:
                for i, tid in enumerate(ids):
                    label = int(w.labels[i])
                    row_votes = [int(v) for v in votes[i]]
                    conflict = len({v for v in row_votes if v >= 0}) > 1
                    if label < 0:
                        cp.write_row((int(tid), None, None, None, row_votes, conflict))
                    else:
                        probs = [float(p) for p in w.probs[i]]
                        cp.write_row((int(tid), label, float(w.confidence[i]), probs, row_votes, conflict))
            cur.execute(
                sql.SQL(
                    "UPDATE {} t SET weak_label = w.weak_label, weak_prob = w.weak_prob, weak_probs = w.weak_probs,"
                    " lf_votes = w.lf_votes, lf_conflict = w.lf_conflict FROM _weak w WHERE t.tweet_id = w.tweet_id"
                ).format(t)
            )


def _store_summary(conn: psycopg.Connection, version: int, summary: pd.DataFrame, chosen: str) -> str:
    """Replace ``lf_summary_<v>`` (one row per LF, ``position`` = its column in the LF votes)."""
    table = versioned("lf_summary", version)
    t = sql.Identifier(table)
    columns = (
        "lf",
        "position",
        "polarity",
        "coverage",
        "overlaps",
        "conflicts",
        "correct",
        "incorrect",
        "emp_acc",
        "n_golden",
        "label_model",
    )
    with conn.transaction():
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (lf text PRIMARY KEY, position integer, polarity text, coverage real,"
                ' "overlaps" real, conflicts real, correct integer, incorrect integer, emp_acc real,'
                " n_golden integer, label_model text, created_at timestamptz NOT NULL DEFAULT now())"
            ).format(t)
        )
        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS position integer").format(t))
        conn.execute(sql.SQL("DELETE FROM {}").format(t))
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(t, sql.SQL(", ").join(map(sql.Identifier, columns)))
        with conn.cursor().copy(copy) as cp:
            for position, (name, r) in enumerate(summary.iterrows()):
                cp.write_row(
                    (
                        name,
                        position,
                        r["polarity"],
                        float(r["coverage"]),
                        float(r["overlaps"]),
                        float(r["conflicts"]),
                        int(r["correct"]),
                        int(r["incorrect"]),
                        None if pd.isna(r["emp_acc"]) else float(r["emp_acc"]),
                        int(r["n_golden"]),
                        chosen,
                    )
                )
    return table


def _export(
    settings: Settings, frames: dict[str, pd.DataFrame], chosen: dict[str, WeakLabels], classes: list[str]
) -> list[str]:
    out_dir = export_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for split, df in frames.items():
        w = chosen[split]
        labels = pd.array([int(v) if v >= 0 else None for v in w.labels], dtype="Int16")
        out = pd.DataFrame(
            {
                "tweet_id": df["tweet_id"].astype("int64"),
                "text": df["text"],
                "urls": df["urls"],
                "weak_label": labels,
                "weak_label_name": [classes[v] if v >= 0 else None for v in w.labels],
                "weak_prob": pd.array([None if np.isnan(c) else float(c) for c in w.confidence], dtype="Float32"),
                "golden_label": pd.array([None if pd.isna(g) else int(g) for g in df["golden_label"]], dtype="Int16"),
            }
        )
        for suffix, write in (
            (".parquet", lambda p, o=out: o.to_parquet(p, index=False)),
            (".csv", lambda p, o=out: o.to_csv(p, index=False)),
        ):
            final = out_dir / f"{split_table(split, settings.dataset.version)}{suffix}"
            tmp = final.with_name(final.name + ".tmp")
            write(tmp)
            tmp.replace(final)
            written.append(str(final))
    return written


def run_labeling(settings: Settings, *, progress: Progress | None = None) -> LabelingResult:
    """Weak-label every split of ``dataset.version``; see the module docstring."""
    progress = progress or _no_progress
    ls, version = settings.labeling, settings.dataset.version
    classes, k = list(ls.classes), len(ls.classes)
    lfs = load_lfs(ls)
    tables = {s: split_table(s, version) for s in SPLITS}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with connect(settings.postgres) as conn:
        missing = [t for t in tables.values() if not table_exists(conn, t)]
        if missing:
            raise LabelingError(
                f"dataset version {version} is not prepared (missing {', '.join(missing)})",
                hint="run `streamsift dataset prepare`",
            )
        frames = {s: read_split(conn, t) for s, t in tables.items()}
    timings["read"] = time.perf_counter() - t0
    if frames["snorkel_train"].empty:
        raise LabelingError(f"{tables['snorkel_train']} is empty: nothing to fit the LabelModel on")

    t1 = time.perf_counter()
    L: dict[str, np.ndarray] = {}
    total = sum(len(f) for f in frames.values())
    advance = progress(f"applying {len(lfs)} labeling functions", total)
    for split, df in frames.items():
        L[split] = apply_lfs(df, lfs, k, workers=ls.workers, on_rows=advance)
    timings["apply"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    progress("fitting the LabelModel", None)
    # The LabelModel needs no labels: when snorkel_train was shrunk on small data, fit it on the train
    # split's votes too rather than on a few hundred rows.
    fit_on = L["snorkel_train"]
    if len(fit_on) < settings.dataset.snorkel_train_size and len(L["train"]):
        fit_on = np.vstack([fit_on, L["train"]])
        log.info("fitting the LabelModel on snorkel_train + train (%d rows): snorkel_train is small", len(fit_on))
    model = fit_label_model(fit_on, k, epochs=ls.epochs, lr=ls.learning_rate, seed=ls.seed)
    weak_lfs = inverted_lfs(model, [lf.name for lf in lfs])
    if weak_lfs:
        log.warning("the LabelModel learned these LFs as worse than chance: %s", ", ".join(weak_lfs))
    lm = {s: predict_label_model(model, L[s]) for s in SPLITS}
    mv = {s: predict_majority(L[s], k) for s in SPLITS}
    timings["fit_predict"] = time.perf_counter() - t2

    golden = {s: np.array([-1 if pd.isna(g) else int(g) for g in frames[s]["golden_label"]], dtype=int) for s in SPLITS}
    chosen_name, reason, dev_scores = _choose(settings, lm, mv, golden)
    chosen = lm if chosen_name == "label_model" else mv
    all_L = np.vstack([L[s] for s in SPLITS])
    all_gold = np.concatenate([golden[s] for s in SPLITS])
    has_gold = all_gold >= 0
    summary = lf_summary(L["snorkel_train"], lfs, all_L[has_gold], all_gold[has_gold])
    both = np.concatenate([chosen[s].labels for s in SPLITS])
    lm_all = np.concatenate([lm[s].labels for s in SPLITS])
    mv_all = np.concatenate([mv[s].labels for s in SPLITS])
    voted = (lm_all >= 0) & (mv_all >= 0)
    agreement = float((lm_all[voted] == mv_all[voted]).mean()) if voted.any() else 1.0

    t3 = time.perf_counter()
    with connect(settings.postgres) as conn:
        _write_labels(conn, tables, frames, chosen, L)
        _store_summary(conn, version, summary, chosen_name)
    exports = _export(settings, frames, chosen, classes)
    save_model(model, [lf.name for lf in lfs], classes, model_path(settings))
    (labeling_dir(settings) / "labeling.json").write_text(
        json.dumps(
            {
                "chosen": chosen_name,
                "reason": reason,
                "dev_scores": dev_scores,
                "lfs": [lf.name for lf in lfs],
            },
            indent=2,
        )
    )
    timings["write"] = time.perf_counter() - t3
    counts = {c: int((both == i).sum()) for i, c in enumerate(classes)}
    counts["none"] = int((both < 0).sum())
    return LabelingResult(
        version=version,
        lfs=[lf.name for lf in lfs],
        chosen=chosen_name,
        reason=reason,
        rows={s: len(frames[s]) for s in SPLITS},
        labelled={s: int((chosen[s].labels >= 0).sum()) for s in SPLITS},
        class_counts=counts,
        dev_scores=dev_scores,
        agreement_lm_mv=round(agreement, 4),
        exports=exports,
        lf_summary=summary,
        seconds={k: round(v, 2) for k, v in timings.items()},
    )


__all__ = [
    "LabelingResult",
    "export_dir",
    "labeling_dir",
    "lf_summary",
    "model_path",
    "read_split",
    "run_labeling",
]
