"""Training time on ~50,000 tweets and scoring throughput at batch sizes 1, 32 and 1024.

Runs on its own PostgreSQL: synthetic tweets through the ingest sink, ``dataset prepare``,
``label``, then the real ``train()`` (network + baseline + ONNX export + registry). Scoring is
timed with ONNX Runtime (model only, and tokenizer + model) beside PyTorch eager on the same
model. Prints JSON.

    python bench/train_predict.py [--raw 85000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from streamsift.config import load_settings
from streamsift.dataset.prepare import prepare_dataset
from streamsift.infra.postgres import PostgresServer
from streamsift.infra.process import free_port
from streamsift.ingest.sink import KafkaMessage, RawTweetSink
from streamsift.labeling.pipeline import run_labeling
from streamsift.models.predict import OnnxClassifier, predict_file
from streamsift.models.train import train
from streamsift.records import MalformedRecord, parse_payload
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_stream_100k.jsonl"


def scoring_texts(n: int = 3000) -> list[str]:
    """Real tweets when ../shared/data is here (their length and vocabulary), else synthetic ones."""
    texts = []
    if REAL.exists():
        with REAL.open() as fh:
            for line in fh:
                try:
                    texts.append(parse_payload(line.encode())[0].text)
                except MalformedRecord:
                    continue
                if len(texts) >= n:
                    return texts
    for it in generate(n + n // 10, seed=405):
        try:
            texts.append(parse_payload(it.record.payload)[0].text)
        except MalformedRecord:
            continue
    return texts[:n]


def rate(fn, n_items: int, seconds: float) -> float:
    """Median items/s over repeated calls for about ``seconds``."""
    fn()  # warm-up
    runs, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(runs) < 3:
        t0 = time.perf_counter()
        fn()
        runs.append(n_items / (time.perf_counter() - t0))
    return round(statistics.median(runs), 1)


def promote_quietly(settings, version: int) -> None:
    """Production stage for predict_file (no broker here: the models.events message is not needed)."""
    from streamsift.models import registry

    with connect(settings.postgres) as conn, conn.transaction():
        conn.execute(
            "UPDATE model_registry SET stage = 'production' WHERE name = %s AND version = %s",
            (settings.model.name, version),
        )
    assert registry.get_model(settings)["version"] == version


def predict_file_rates(settings, tmp: Path, lines: int) -> dict:
    """`streamsift predict` end to end (JSON in, tokenize, ONNX, JSON out) on a file of ``lines`` records."""
    src = tmp / "score.jsonl"
    with src.open("w") as fh:
        n = 0
        for it in generate(int(lines * 1.05), seed=406):
            try:
                fh.write(json.dumps({"text": parse_payload(it.record.payload)[0].text}) + "\n")
                n += 1
            except MalformedRecord:
                continue
            if n == lines:
                break
    out = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        r = predict_file(settings, src, tmp / f"scored_{workers}.jsonl", workers=workers)
        out[f"workers_{workers}_texts_per_s"] = round(r.scored / (time.perf_counter() - t0), 1)
    out["lines"] = n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", type=int, default=85_000, help="synthetic records ingested (≈50k train rows after dedup)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--lines", type=int, default=50_000, help="records in the end-to-end predict file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="streamsift-bench-train-") as tmp:
        s = load_settings(
            "/dev/null",
            state={"dir": tmp},
            postgres={"port": free_port()},
            model={"models_dir": str(Path(tmp) / "models")},
        )
        pg = PostgresServer(s.postgres, Path(tmp))
        pg.start()
        try:
            items = list(generate(args.raw, seed=404))
            with connect(s.postgres) as conn:
                ensure_ingest_schema(conn, "raw_tweet_dataset_0")
                RawTweetSink(connect_kwargs(s.postgres), "raw_tweet_dataset_0").write(
                    [KafkaMessage(i.record.payload, "bench", 0, k) for k, i in enumerate(items)], conn
                )
            prepared = prepare_dataset(s)
            run_labeling(s)
            t0 = time.perf_counter()
            result = train(s)
            train_s = time.perf_counter() - t0
            promote_quietly(s, result.version)
            end_to_end = predict_file_rates(s, Path(tmp), args.lines)
        finally:
            pg.stop()

        texts = scoring_texts()
        clf = OnnxClassifier(Path(result.path), list(s.labeling.classes), threads=2)
        import torch

        from streamsift.models.network import TweetClassifier

        torch.set_num_threads(2)
        saved = torch.load(Path(result.path, "model.pt"), weights_only=False)
        model = TweetClassifier.from_config(saved["config"])
        model.load_state_dict(saved["state_dict"])
        model.eval()
        scoring = {}
        for bs in (1, 32, 1024):
            batch = (texts * (bs // len(texts) + 1))[:bs]
            ids, _ = clf.tokenizer.encode(batch)
            tids = torch.from_numpy(ids)

            def torch_run(t=tids) -> None:
                with torch.no_grad():
                    model(t)

            scoring[f"batch_{bs}"] = {
                "onnx_model_only_texts_per_s": rate(lambda i=ids: clf.predict_ids(i), bs, args.seconds),
                "onnx_with_tokenizer_texts_per_s": rate(lambda b=batch: clf.predict_proba(b), bs, args.seconds),
                "pytorch_eager_model_only_texts_per_s": rate(torch_run, bs, args.seconds),
            }
            scoring[f"batch_{bs}"]["onnx_vs_pytorch"] = round(
                scoring[f"batch_{bs}"]["onnx_model_only_texts_per_s"]
                / scoring[f"batch_{bs}"]["pytorch_eager_model_only_texts_per_s"],
                2,
            )
    print(
        json.dumps(
            {
                "train_rows": result.metrics["train"]["rows"],
                "distinct_tweets": prepared.dedup_rows,
                "train_seconds_total": round(train_s, 2),
                "train_seconds_neural": result.seconds.get("neural"),
                "train_seconds_baseline": result.seconds.get("baseline"),
                "steps_run": result.metrics["train"]["steps"],
                "scoring_texts": "real tweets (../shared/data)" if REAL.exists() else "synthetic tweets",
                "test_macro_f1": {
                    "neural": result.metrics["test"]["neural"]["macro"]["f1"],
                    "baseline": result.metrics["test"]["baseline_tfidf_logreg"]["macro"]["f1"],
                },
                "scoring": scoring,
                "predict_file_end_to_end": end_to_end,
                "targets": {"train_s": 120, "onnx_with_tokenizer_batch_1024_texts_per_s": 40_000},
                "numpy": np.__version__,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
