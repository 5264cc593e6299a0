"""Apply labeling functions to a DataFrame: the label matrix ``L`` (rows × LFs, -1 = abstain).

Our own loop over Snorkel LFs (rather than ``PandasLFApplier``) so that an LF that
raises, or returns something that is not a label, is reported by name with the
record it failed on. Big frames are split across processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise
from multiprocessing import get_context

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from streamsift.labeling.errors import LFError

log = logging.getLogger(__name__)

ABSTAIN = -1
#: Below this many rows, parallel processes cost more than they save.
PARALLEL_MIN_ROWS = 4000


class Row(dict):
    """One record as LFs see it: ``x.text``, ``x["text"]`` and ``x.get("text")`` all work.

    Lighter than a pandas Series (Snorkel's preprocessors copy each data point).
    """

    __slots__ = ()

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value) -> None:
        self[key] = value


def _record_id(row: Row, i: int) -> str:
    tid = row.get("tweet_id")
    return f"tweet {tid}" if tid is not None and not pd.isna(tid) else f"row {i}"


def apply_lfs_serial(
    df: pd.DataFrame,
    lfs: Sequence[LabelingFunction],
    cardinality: int,
    on_rows: Callable[[int], None] | None = None,
) -> np.ndarray:
    """``L[i, j]`` = vote of ``lfs[j]`` on row ``i``."""
    L = np.full((len(df), len(lfs)), ABSTAIN, dtype=np.int64)
    valid = set(range(-1, cardinality))
    for i, record in enumerate(df.to_dict("records")):
        row = Row(record)
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            continue  # nothing to judge: every LF abstains, the record gets no weak label
        for j, lf in enumerate(lfs):
            try:
                vote = lf(row)
            except Exception as exc:
                text = str(row.get("text", ""))[:80]
                raise LFError(
                    f"labeling function {lf.name!r} raised {type(exc).__name__}: {exc} "
                    f"on {_record_id(row, i)} (text {text!r})"
                ) from exc
            if vote not in valid:
                raise LFError(
                    f"labeling function {lf.name!r} returned {vote!r} on {_record_id(row, i)}; "
                    f"expected -1 (abstain) or a class index 0..{cardinality - 1}"
                )
            L[i, j] = vote
        if (i + 1) % 500 == 0:
            _clear_memo(lfs)  # Snorkel's memoised preprocessors would otherwise keep every row
            if on_rows is not None:
                on_rows(500)
    _clear_memo(lfs)
    if on_rows is not None and len(df) % 500:
        on_rows(len(df) % 500)
    return L


def _clear_memo(lfs: Sequence[LabelingFunction]) -> None:
    """Empty the caches of memoised preprocessors (they only help across the LFs of one row)."""
    for lf in lfs:
        for pre in getattr(lf, "pre", None) or getattr(lf, "_pre", None) or []:
            cache = getattr(pre, "_cache", None)
            if isinstance(cache, dict):
                cache.clear()


#: What forked workers inherit (LF objects are not picklable by reference: Snorkel's decorator
#: replaces the module attribute with the LabelingFunction wrapping the function).
_FORKED: dict[str, object] = {}


def _apply_chunk(df: pd.DataFrame) -> np.ndarray:
    return apply_lfs_serial(df, _FORKED["lfs"], _FORKED["cardinality"])  # type: ignore[arg-type]


def apply_lfs(
    df: pd.DataFrame,
    lfs: Sequence[LabelingFunction],
    cardinality: int,
    *,
    workers: int = 1,
    on_rows: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Apply in this process, or in ``workers`` forked processes for big frames."""
    workers = min(workers, os.cpu_count() or 1)
    if workers <= 1 or len(df) < PARALLEL_MIN_ROWS:
        return apply_lfs_serial(df, lfs, cardinality, on_rows)
    n_chunks = max(workers * 4, 1)
    bounds = np.linspace(0, len(df), n_chunks + 1, dtype=int)
    chunks = [df.iloc[a:b] for a, b in pairwise(bounds) if b > a]
    out: list[np.ndarray] = []
    _FORKED.update(lfs=list(lfs), cardinality=cardinality)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            for chunk, L in zip(chunks, pool.map(_apply_chunk, chunks), strict=True):
                out.append(L)
                if on_rows is not None:
                    on_rows(len(chunk))
    finally:
        _FORKED.clear()
    return np.vstack(out) if out else np.zeros((0, len(lfs)), dtype=np.int64)
