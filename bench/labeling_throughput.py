"""Weak-labelling benchmark: apply every built-in LF and fit the LabelModel on N tweets.

Side by side: streamsift's applier (light rows, forked workers) and Snorkel's own
``PandasLFApplier`` (one process, a pandas Series per row) on the same LFs and data.
Prints JSON. No servers needed.

    python bench/labeling_throughput.py [--count 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import pandas as pd
from snorkel.labeling import PandasLFApplier

from streamsift.config import LabelingSettings
from streamsift.labeling.apply import apply_lfs
from streamsift.labeling.lfs import tweet_features
from streamsift.labeling.model import _quiet, fit_label_model, predict_label_model
from streamsift.labeling.registry import load_lfs
from streamsift.records import MalformedRecord, parse_payload
from streamsift.sources.synthetic import generate


def frame(count: int) -> pd.DataFrame:
    rows = []
    for item in generate(int(count * 1.02) + 10, seed=77):
        try:
            t, _ = parse_payload(item.record.payload)
        except MalformedRecord:
            continue
        rows.append(
            {
                "tweet_id": t.tweet_id,
                "text": t.text,
                "urls": t.expanded_urls,
                "hashtags": list(t.hashtags),
                "is_retweet": t.is_retweet,
            }
        )
        if len(rows) == count:
            break
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    df = frame(args.count)
    lfs = load_lfs(LabelingSettings())
    ours_apply, ours_fit, theirs_apply = [], [], []
    for _ in range(args.repeat):
        tweet_features._cache.clear()
        t0 = time.perf_counter()
        L = apply_lfs(df, lfs, 2, workers=args.workers)
        t1 = time.perf_counter()
        model = fit_label_model(L, 2, epochs=500, lr=0.01, seed=1)
        predict_label_model(model, L)
        t2 = time.perf_counter()
        ours_apply.append(t1 - t0)
        ours_fit.append(t2 - t1)
        tweet_features._cache.clear()
        t3 = time.perf_counter()
        with _quiet():
            L_snorkel = PandasLFApplier(lfs).apply(df, progress_bar=False)
        theirs_apply.append(time.perf_counter() - t3)
        assert (L_snorkel == L).all(), "both appliers must give the same label matrix"
    med = statistics.median
    total = med(a + f for a, f in zip(ours_apply, ours_fit, strict=True))
    print(
        json.dumps(
            {
                "tweets": len(df),
                "lfs": len(lfs),
                "workers": args.workers,
                "repeats": args.repeat,
                "streamsift_apply_s_median": round(med(ours_apply), 2),
                "label_model_fit_predict_s_median": round(med(ours_fit), 2),
                "streamsift_total_s_median": round(total, 2),
                "snorkel_pandas_applier_s_median": round(med(theirs_apply), 2),
                "apply_speedup_vs_snorkel_pandas_applier": round(med(theirs_apply) / med(ours_apply), 2),
                "target_total_s": 60,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
