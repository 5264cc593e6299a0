"""Live-classification benchmark: 100,000 tweets already in Kafka → classified → PostgreSQL.

One run, side by side, on a private infrastructure (its own state folder and free ports):

* ``spark_local``: ``streamsift classify --mode local`` (ONNX Runtime in the Spark Python workers);
* ``spark_remote``: ``--mode remote`` (batched calls to a ``streamsift serve`` subprocess);
* ``spark_per_row``: ``--mode per-row`` (one HTTP request per tweet, the original design; on a subset);
* ``worker_1`` / ``worker_2``: ``streamsift worker`` as 1 and 2 processes in one consumer group.

Flat out, each case reads its own topic from the start and reports tweets/s two ways: over the
whole run (process / query start-up included) and over the classification itself (first to last
batch). Paced, the producer sends ``--paced-rate`` tweets/s to an already-running consumer and
the end-to-end lag (Kafka timestamp → ``ai_tweets`` row committed) is read from PostgreSQL.

The tweets are ``../shared/data/real_stream_100k.jsonl`` when present (``--data``), else the
synthetic stream. The model is trained here on the synthetic stream with the default network.

    python bench/classify_throughput.py [--count 100000] [--per-row 3000] [--paced-rate 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from streamsift.config import load_settings
from streamsift.infra import KafkaBroker, down, up
from streamsift.infra.process import free_port
from streamsift.infra.spark import get_spark
from streamsift.ingest.producer import produce
from streamsift.ingest.sink import KafkaMessage, RawTweetSink
from streamsift.live.spark_job import run_classify
from streamsift.live.store import ensure_live_schema
from streamsift.sources.base import SourceRecord
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema
from streamsift.store.tables import raw_table

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_stream_100k.jsonl"


def make_settings(state: Path, models: Path):
    return load_settings(
        "/dev/null",
        state={"dir": str(state)},
        kafka={"port": free_port(), "controller_port": free_port(), "partitions": 4, "heap": "1g"},
        postgres={"port": free_port()},
        spark={"master": "local[2]", "driver_memory": "2g", "shuffle_partitions": 2},
        model={"name": "bench-clf", "models_dir": str(models)},
        serving={"port": free_port()},
    )


def env_for(s, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSIFT_")}
    env.update(
        {
            "STREAMSIFT_CONFIG": os.devnull,
            "STREAMSIFT_STATE__DIR": str(s.state.dir),
            "STREAMSIFT_KAFKA__PORT": str(s.kafka.port),
            "STREAMSIFT_KAFKA__CONTROLLER_PORT": str(s.kafka.controller_port),
            "STREAMSIFT_POSTGRES__PORT": str(s.postgres.port),
            "STREAMSIFT_MODEL__NAME": s.model.name,
            "STREAMSIFT_MODEL__MODELS_DIR": str(s.model.models_dir),
            "STREAMSIFT_SERVING__PORT": str(s.serving.port),
        }
    )
    env.update(extra)
    return env


def train_model(s) -> int:
    """Ingest-free path to a production model: synthetic rows → prepare → label → train → promote."""
    from streamsift.dataset.prepare import prepare_dataset
    from streamsift.labeling.pipeline import run_labeling
    from streamsift.models.registry import promote
    from streamsift.models.train import train

    items = list(generate(6000, seed=11))
    table = raw_table(s.dataset.prefix, s.dataset.version)
    with connect(s.postgres) as conn:
        ensure_ingest_schema(conn, table)
        RawTweetSink(connect_kwargs(s.postgres), table).write(
            [KafkaMessage(i.record.payload, "t", 0, k) for k, i in enumerate(items)], conn
        )
    prepare_dataset(s)
    run_labeling(s)
    v = train(s.model_copy(update={"model": s.model.model_copy(update={"epochs": 3})}))
    promote(s, v.version)
    return v.version


def load_payloads(count: int, data: Path | None) -> tuple[list[SourceRecord], str]:
    if data and data.is_file():
        out = []
        with data.open("rb") as f:
            for line in f:
                if line.strip():
                    out.append(SourceRecord.from_payload(line.rstrip(b"\n")))
                if len(out) >= count:
                    break
        return out, f"real ({data.name})"
    return [i.record for i in generate(count, seed=2026)], "synthetic"


def reset_outputs(s) -> None:
    with connect(s.postgres) as conn:
        ensure_live_schema(conn)
        conn.execute("TRUNCATE ai_tweets, tweet_urls")
        conn.commit()


def lag_and_rows(s) -> dict:
    with connect(s.postgres) as conn:
        n, p50, p95, first, last = conn.execute(
            "SELECT count(*),"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - kafka_timestamp)),"
            " percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - kafka_timestamp)),"
            " extract(epoch FROM min(stored_at)), extract(epoch FROM max(stored_at)) FROM ai_tweets"
        ).fetchone()
    return {
        "ai_rows": n,
        "lag_p50_s": round(p50, 3) if p50 is not None else None,
        "lag_p95_s": round(p95, 3) if p95 is not None else None,
        "_first": first,
        "_last": last,
    }


def fill_topic(s, topic: str, payloads: list[SourceRecord]) -> None:
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic])
    st = produce(iter(payloads), s.kafka, s.producer, topic=topic)
    assert st.delivered == len(payloads), st


def spark_case(s, spark, topic: str, mode: str, tmp: Path, n: int) -> dict:
    reset_outputs(s)
    t0 = time.perf_counter()
    stats = run_classify(s, mode=mode, until_idle=True, spark=spark, topic=topic, checkpoint=tmp / f"ck-{topic}")
    wall = time.perf_counter() - t0
    out = lag_and_rows(s)
    assert stats.messages == n, (stats.messages, n)
    return {
        "records": stats.messages,
        "seconds": round(wall, 2),
        "tweets_per_s": round(stats.messages / wall, 1),
        "micro_batches": stats.batches,
        "ai_tweets": stats.ai_tweets,
        "dead_letters": stats.dead_letters,
        "lag_p50_s_preloaded": out["lag_p50_s"],
        "lag_p95_s_preloaded": out["lag_p95_s"],
    }


_DONE = re.compile(r"classified ([\d,]+) records in ([\d.]+) s")


def worker_case(s, topic: str, processes: int, n: int, tmp: Path) -> dict:
    reset_outputs(s)
    env = env_for(s, STREAMSIFT_KAFKA__TOPIC_RAW=topic, STREAMSIFT_CLASSIFY__GROUP_ID=f"bench-{topic}")
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "streamsift.cli", "worker", "--until-idle", "--worker-id", f"{topic}-{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(processes)
    ]
    outs = [p.communicate(timeout=1800)[0] for p in procs]
    wall = time.perf_counter() - t0
    records, busy = 0, 0.0
    for p, o in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"worker exited {p.returncode}: {o[-2000:]}")
        m = _DONE.search(o)
        records += int(m.group(1).replace(",", ""))
        busy = max(busy, float(m.group(2)))
    assert records == n, (records, n)
    out = lag_and_rows(s)
    return {
        "processes": processes,
        "records": records,
        "seconds": round(wall, 2),
        "tweets_per_s": round(records / wall, 1),
        "seconds_in_run_loop": round(busy, 2),
        "tweets_per_s_in_run_loop": round(records / busy, 1),
        "ai_rows": out["ai_rows"],
        "lag_p50_s_preloaded": out["lag_p50_s"],
        "lag_p95_s_preloaded": out["lag_p95_s"],
    }


def wait_settled(s, seconds: float, quiet_s: float = 6.0) -> None:
    """Until the ai_tweets row count has not moved for ``quiet_s`` (the consumer has caught up)."""
    deadline, last, since = time.monotonic() + seconds, -1, time.monotonic()
    while time.monotonic() < deadline:
        with connect(s.postgres) as conn:
            n = conn.execute("SELECT count(*) FROM ai_tweets").fetchone()[0]
        if n != last:
            last, since = n, time.monotonic()
        elif n > 0 and time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.5)
    raise RuntimeError(f"ai_tweets still changing (or empty) after {seconds} s")


def paced_case(s, kind: str, payloads: list[SourceRecord], rate: float, spark=None, tmp=None, trigger=None) -> dict:
    """A running consumer, then ``rate`` tweets/s; lag from Kafka timestamp to the committed row."""
    topic = f"bench.paced.{kind}{'.t' + trigger.split()[0] if trigger else ''}"
    if trigger:
        s = s.model_copy(update={"classify": s.classify.model_copy(update={"trigger_interval": trigger})})
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic])
    reset_outputs(s)
    errors: list[BaseException] = []
    proc = None
    if kind == "worker":
        env = env_for(s, STREAMSIFT_KAFKA__TOPIC_RAW=topic, STREAMSIFT_CLASSIFY__GROUP_ID=f"bench-{topic}")
        cmd = [sys.executable, "-m", "streamsift.cli", "worker"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    else:

        def run() -> None:
            try:
                run_classify(s, mode="local", spark=spark, topic=topic, checkpoint=tmp / f"ck-{topic}", timeout_s=900)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threading.Thread(target=run, daemon=True).start()
    time.sleep(15)  # the consumer is up and idle before the first record is sent
    t0 = time.perf_counter()
    produce(iter(payloads), s.kafka, s.producer, topic=topic, rate=rate)
    sent_s = time.perf_counter() - t0
    wait_settled(s, 180)
    if proc is not None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    else:
        for q in spark.streams.active:
            q.stop()
        time.sleep(2)
        if errors:
            raise errors[0]
    out = lag_and_rows(s)
    return {
        "trigger_interval": s.classify.trigger_interval if kind == "spark" else None,
        "rate_cap": rate,
        "records": len(payloads),
        "achieved_send_rate": round(len(payloads) / sent_s, 1),
        "ai_rows": out["ai_rows"],
        "lag_p50_s": out["lag_p50_s"],
        "lag_p95_s": out["lag_p95_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--per-row", type=int, default=3000, help="tweets for the per-row baseline (it is slow)")
    ap.add_argument("--paced-rate", type=float, default=2000)
    ap.add_argument("--paced-count", type=int, default=60_000)
    ap.add_argument("--data", type=Path, default=REAL)
    ap.add_argument("--only", default="", help="comma-separated cases to run (default: all)")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))

    def want(case: str) -> bool:
        return not only or case in only

    payloads, source = load_payloads(args.count, args.data)
    n = len(payloads)
    result: dict = {"tweets": n, "source": source, "machine": {"cores": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="streamsift-bench-") as tmp_s:
        tmp = Path(tmp_s)
        s = make_settings(tmp / "state", tmp / "models")
        up(s)
        server = None
        try:
            result["model_version"] = train_model(s)
            spark = get_spark(s, app_name="streamsift-bench-classify")
            # warm-up: the first query of a session pays the JVM's class loading and the Python workers' start
            fill_topic(s, "bench.warmup", payloads[:2000])
            spark_case(s, spark, "bench.warmup", "local", tmp, 2000)
            for name, procs in (("worker_1", 1), ("worker_2", 2)):
                if want(name):
                    fill_topic(s, f"bench.{name}", payloads)
                    result[name] = worker_case(s, f"bench.{name}", procs, n, tmp)
            if want("spark_local"):
                fill_topic(s, "bench.local", payloads)
                result["spark_local"] = spark_case(s, spark, "bench.local", "local", tmp, n)
            if want("spark_remote") or want("spark_per_row"):
                server = subprocess.Popen(
                    [sys.executable, "-m", "streamsift.cli", "serve"],
                    env=env_for(s),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                base = f"http://127.0.0.1:{s.serving.port}"
                for _ in range(120):
                    try:
                        if httpx.get(f"{base}/v2/health/ready", timeout=2).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.5)
                rs = s.model_copy(update={"classify": s.classify.model_copy(update={"server_url": base})})
                if want("spark_remote"):
                    fill_topic(s, "bench.remote", payloads)
                    result["spark_remote"] = spark_case(rs, spark, "bench.remote", "remote", tmp, n)
                if want("spark_per_row"):
                    sub = payloads[: args.per_row]
                    fill_topic(s, "bench.per_row", sub)
                    result["spark_per_row"] = spark_case(rs, spark, "bench.per_row", "per-row", tmp, len(sub))
            paced, _ = load_payloads(args.paced_count, args.data)
            if want("paced_worker"):
                result["paced_worker"] = paced_case(s, "worker", paced, args.paced_rate)
            if want("paced_spark_local"):
                result["paced_spark_local"] = paced_case(s, "spark", paced, args.paced_rate, spark=spark, tmp=tmp)
            if want("paced_spark_local_trigger0"):  # micro-batches back to back instead of every second
                result["paced_spark_local_trigger0"] = paced_case(
                    s, "spark", paced, args.paced_rate, spark=spark, tmp=tmp, trigger="0 seconds"
                )
            per_row = result.get("spark_per_row", {}).get("tweets_per_s")
            if per_row:
                result["ratios_vs_per_row"] = {
                    k: round(result[k]["tweets_per_s"] / per_row, 1)
                    for k in ("spark_local", "spark_remote", "worker_1", "worker_2")
                    if k in result
                }
            spark.stop()
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(30)
            down(s, wipe=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
