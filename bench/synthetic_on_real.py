"""Does a model trained on the synthetic stream alone misfire on real tweets?

Trains the way ``streamsift demo`` does (synthetic tweets → the ingest sink → dataset prepare →
label → train, on a private PostgreSQL), then scores the 2,000 hand-labelled real tweets of
``../shared/data/golden_dev_tweets.jsonl`` and prints, as JSON, the share of real ``not_ai``
tweets called ``ai`` (target ≤ 5 %) and the share of real ``ai`` tweets found (target ≥ 60 %),
beside the labeling functions on the same tweets.

    python bench/synthetic_on_real.py [--raw 30000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from streamsift.config import load_settings
from streamsift.dataset.prepare import prepare_dataset
from streamsift.infra.postgres import PostgresServer
from streamsift.infra.process import free_port
from streamsift.ingest.sink import KafkaMessage, RawTweetSink
from streamsift.labeling.apply_file import apply_to_file
from streamsift.labeling.pipeline import run_labeling
from streamsift.models.predict import OnnxClassifier
from streamsift.models.train import train
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "golden_dev_tweets.jsonl"


def rates(labels: list[str], predicted: list[str]) -> dict:
    not_ai = [p for g, p in zip(labels, predicted, strict=True) if g == "not_ai"]
    ai = [p for g, p in zip(labels, predicted, strict=True) if g == "ai"]
    return {
        "not_ai_called_ai": round(sum(p == "ai" for p in not_ai) / len(not_ai), 4),
        "ai_found": round(sum(p == "ai" for p in ai) / len(ai), 4),
        "n_not_ai": len(not_ai),
        "n_ai": len(ai),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=int, default=30_000, help="synthetic records")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not GOLDEN.exists():
        sys.exit(f"{GOLDEN} is missing: this benchmark needs the golden real tweets of ../shared/data")
    golden = [json.loads(x) for x in GOLDEN.open()]
    with tempfile.TemporaryDirectory(prefix="streamsift-bench-synth-") as tmp:
        s = load_settings(
            "/dev/null",
            state={"dir": tmp},
            postgres={"port": free_port()},
            model={"models_dir": str(Path(tmp) / "models"), "seed": args.seed},
        )
        pg = PostgresServer(s.postgres, Path(tmp))
        pg.start()
        try:
            items = list(generate(args.raw, seed=args.seed))
            with connect(s.postgres) as conn:
                ensure_ingest_schema(conn, "raw_tweet_dataset_0")
                RawTweetSink(connect_kwargs(s.postgres), "raw_tweet_dataset_0").write(
                    [KafkaMessage(i.record.payload, "bench", 0, k) for k, i in enumerate(items)], conn
                )
            prepare_dataset(s)
            run_labeling(s)
            result = train(s)
            src, out = Path(tmp) / "golden.jsonl", Path(tmp) / "lf.jsonl"
            src.write_text("".join(json.dumps({"text": g["text"]}) + "\n" for g in golden))
            apply_to_file(s, src, out)
            lf = [json.loads(x).get("weak_label_name") or "not_ai" for x in out.open()]
        finally:
            pg.stop()
        clf = OnnxClassifier(Path(result.path), list(s.labeling.classes))
        probs = clf.predict_proba([g["text"] for g in golden])
        model = [clf.classes[int(k)] for k in probs.argmax(axis=1)]
    labels = [g["label"] for g in golden]
    print(
        json.dumps(
            {
                "synthetic_records": args.raw,
                "model_trained_on_synthetic_only": rates(labels, model),
                "labeling_functions": rates(labels, lf),
                "targets": {"not_ai_called_ai_at_most": 0.05, "ai_found_at_least": 0.60},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
