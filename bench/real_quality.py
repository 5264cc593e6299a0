"""Quality on real tweets, the way a user gets it: the real CLI path, scored on held-back golden labels.

Needs ``../shared/data`` (real tweets; never shipped). On a private Kafka + PostgreSQL:

    produce --source replay  (real_stream_100k.jsonl + the 2,000 golden-dev tweets)
    ingest --until-idle ─► per seed: dataset prepare (a new dataset version) ─► label
    ─► label import-golden  (half A of the golden set, split by md5(seed:id); half B never imported)
    ─► train ─► models promote ─► predict  (half B)

and prints, per seed, F1 / precision / recall of the served model, the labeling functions
(`label apply`: the LabelModel `label` stored) and the TF-IDF baseline on half B, with
ambiguous tweets left out (and, beside it, counted as not_ai), as JSON.

    python bench/real_quality.py [--seeds 0 1 2] [--limit 0]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from streamsift.config import load_settings
from streamsift.infra import down, up
from streamsift.infra.process import free_port

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def golden_payloads(out) -> dict[str, dict]:
    """Write the 2,000 golden tweets as v1.1 JSON (the 500 sampled ones as delivered); returns id → record."""
    golden = {}
    for line in (DATA / "golden_dev_tweets.jsonl").open():
        g = json.loads(line)
        golden[g["id"]] = g
    full = {}
    for line in (DATA / "tweets_v1_sample.jsonl").open():
        t = json.loads(line)
        full[t["id_str"]] = line.strip()
    dates = {r["id_str"]: r["created_at"] for r in csv.DictReader((DATA / "weak_labelled_tweets.csv").open())}
    for gid, g in golden.items():
        if gid in full:
            out.write(full[gid] + "\n")
        else:
            out.write(
                json.dumps(
                    {
                        "id": int(gid),
                        "id_str": gid,
                        "created_at": dates.get(gid, "Fri Apr 10 06:37:00 +0000 2020"),
                        "text": g["text"],
                        "lang": "en",
                        "user": {"id": 1, "id_str": "1", "screen_name": "golden", "name": "golden"},
                        "entities": {"hashtags": [], "urls": [], "user_mentions": []},
                    }
                )
                + "\n"
            )
    return golden


def half(seed: int, tweet_id: str) -> str:
    return "A" if int(hashlib.md5(f"{seed}:{tweet_id}".encode()).hexdigest(), 16) % 2 == 0 else "B"


def scores(y: np.ndarray, pred: np.ndarray) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, _ = precision_recall_fscore_support(y, pred, labels=[1], average=None, zero_division=0)
    return {"f1": round(float(f[0]), 4), "precision": round(float(p[0]), 4), "recall": round(float(r[0]), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--limit", type=int, default=0, help="Use only the first N stream tweets (0: all).")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is missing: this benchmark needs the real tweets of ../shared/data")

    work = Path(tempfile.mkdtemp(prefix="real-quality-"))
    base = {
        "state": {"dir": str(work / "state")},
        "kafka": {"port": free_port(), "controller_port": free_port(), "partitions": 3},
        "postgres": {"port": free_port()},
        "spark": {"master": "local[2]", "driver_memory": "2g"},
        "model": {"models_dir": str(work / "models")},
    }
    settings = load_settings(Path(os.devnull), **base)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSIFT_")}
    env.update(
        {
            "STREAMSIFT_CONFIG": os.devnull,
            "STREAMSIFT_STATE__DIR": base["state"]["dir"],
            "STREAMSIFT_KAFKA__PORT": str(base["kafka"]["port"]),
            "STREAMSIFT_KAFKA__CONTROLLER_PORT": str(base["kafka"]["controller_port"]),
            "STREAMSIFT_POSTGRES__PORT": str(base["postgres"]["port"]),
            "STREAMSIFT_SPARK__MASTER": "local[2]",
            "STREAMSIFT_MODEL__MODELS_DIR": base["model"]["models_dir"],
        }
    )
    timings: dict[str, float] = {}

    def cli(*argv: str, extra: dict | None = None) -> str:
        t0 = time.perf_counter()
        p = subprocess.run(
            [sys.executable, "-m", "streamsift.cli", *argv],
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
        )
        timings[argv[0] + (" " + argv[1] if len(argv) > 1 and not argv[1].startswith("-") else "")] = round(
            time.perf_counter() - t0, 1
        )
        if p.returncode != 0:
            sys.exit(f"streamsift {' '.join(argv)} failed:\n{p.stderr[-3000:]}")
        return p.stdout

    results = {"seeds": {}, "timings": timings}
    try:
        up(settings)
        stream = work / "stream.jsonl"
        with stream.open("w") as out:
            with (DATA / "real_stream_100k.jsonl").open() as src:
                for n, line in enumerate(src):
                    if args.limit and n >= args.limit:
                        break
                    out.write(line)
            golden = golden_payloads(out)
        cli("produce", "--source", "replay", "--path", str(stream))
        cli("ingest", "--until-idle")
        for seed in args.seeds:
            version = {"STREAMSIFT_DATASET__VERSION": str(seed + 1), "STREAMSIFT_MODEL__SEED": str(seed)}
            cli("dataset", "prepare", "--raw-version", "0", extra=version)
            cli("label", extra=version)
            a_file, b_file = work / f"golden_A_{seed}.jsonl", work / f"golden_B_{seed}.jsonl"
            with a_file.open("w") as fa, b_file.open("w") as fb:
                for gid, g in golden.items():
                    if half(seed, gid) == "A":
                        fa.write(json.dumps({"id": gid, "label": g["label"]}) + "\n")
                    else:
                        fb.write(json.dumps({"id": gid, "text": g["text"], "label": g["label"]}) + "\n")
            cli("label", "import-golden", str(a_file), extra=version)
            out = cli("train", extra=version)
            model_version = int(out.split("registered ")[1].split(" version ")[1].split()[0])
            cli("models", "promote", str(model_version), extra=version)
            pred_file, lf_file = work / f"pred_{seed}.jsonl", work / f"lf_{seed}.jsonl"
            cli("predict", "-i", str(b_file), "-o", str(pred_file), extra=version)
            cli("label", "apply", "-i", str(b_file), "-o", str(lf_file), extra=version)
            results["seeds"][seed] = evaluate(settings, seed, b_file, pred_file, lf_file, model_version)
            print(json.dumps({"seed": seed, **results["seeds"][seed]}), file=sys.stderr)
    finally:
        down(settings, wipe=True)
    f1s = {k: [r["no_ambiguous"][k]["f1"] for r in results["seeds"].values()] for k in ("served_model", "lfs")}
    results["delta_f1_served_minus_lfs"] = [
        round(a - b, 4) for a, b in zip(f1s["served_model"], f1s["lfs"], strict=True)
    ]
    print(json.dumps(results, indent=2))


def evaluate(settings, seed: int, b_file: Path, pred_file: Path, lf_file: Path, model_version: int) -> dict:
    from streamsift.models.baseline import fit_baseline
    from streamsift.models.train import load_split, targets

    rows = [json.loads(x) for x in b_file.open()]
    pred = [json.loads(x) for x in pred_file.open()]
    lf = [json.loads(x) for x in lf_file.open()]
    s = settings.model_copy(update={"dataset": settings.dataset.model_copy(update={"version": seed + 1})})
    train_rows, _ = targets(load_split(s, "train"), min_golden=10**9, golden_weight=s.model.golden_weight)
    base = fit_baseline(train_rows["text"].tolist(), train_rows["y"].to_numpy(), train_rows["w"].to_numpy())
    base_pred = base.predict_proba([r["text"] for r in rows]).argmax(axis=1)
    out = {"model_version": model_version, "n_half_b": len(rows)}
    for name, keep in (("no_ambiguous", lambda r: r["label"] != "ambiguous"), ("ambiguous_as_not_ai", lambda r: True)):
        idx = [i for i, r in enumerate(rows) if keep(r)]
        y = np.array([1 if rows[i]["label"] == "ai" else 0 for i in idx])
        served = np.array([1 if pred[i].get("label") == "ai" else 0 for i in idx])
        lfs = np.array([1 if lf[i].get("weak_label_name") == "ai" else 0 for i in idx])
        out[name] = {
            "n": len(idx),
            "served_model": scores(y, served),
            "lfs": scores(y, lfs),
            "baseline_tfidf_logreg": scores(y, base_pred[idx]),
        }
    return out


if __name__ == "__main__":
    main()
