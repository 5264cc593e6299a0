"""Ingest benchmark: tweets → producer → Kafka → streamsift ingest → PostgreSQL, against the original design.

Runs on a private infrastructure (its own state folder and free ports) and prints JSON. streamsift's
ingest runs with each engine (``--engines spark,kafka``): Spark (``mapInArrow`` → COPY) and the Kafka
consumer group (no JVM), both with the same sink (normalise, dedup, raw JSON, tweet_urls, dead letters).

* ``end_to_end`` / ``paced_latency``: the producer (idempotent, batched, lz4) and ingest at the same
  time, flat out or paced; sustained tweets/s into PostgreSQL and lag (Kafka timestamp → row
  committed) p50 / p95.
* ``consumer_only``: each engine, then the original design's consumer — Spark ``from_json`` of five
  fields and a JDBC append per micro-batch, no dedup (duplicates and malformed records land as rows)
  — on the same filled topic; ``vs_baseline`` is the ratio.
* ``real_size_consumer_only``: the same on real-size v1.1 payloads (``payloads.py``: the real sample
  looped with fresh ids when ``../shared/data`` is here, else padded synthetic ones), msg/s and MB/s.
* ``replay_producer_real_size``: ``produce --source replay`` of real-size payloads.
* ``baseline_sync_send``: the original producer, one synchronous send per record (on a subset).

Before the measured phases both Spark consumers read ``--warm-up`` records (reported as
``cold_start``): a fresh JVM compiles for its first tens of seconds. Each phase reports the CPU
seconds of each process group (``cpu.py``): the system-level profile of a message's cost.

    python bench/ingest_throughput.py [--count 200000] [--real-count 50000] [--engines spark,kafka]
                                      [--phases e2e,paced,consumer,real,replay,send]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Producer
from psycopg import sql

from cpu import CpuSplit
from payloads import real_size_payloads
from streamsift.config import child_env, load_settings
from streamsift.infra import KafkaBroker, down, up
from streamsift.infra.process import free_port
from streamsift.infra.spark import get_spark
from streamsift.ingest.producer import produce
from streamsift.ingest.spark_job import run_ingest
from streamsift.sources.base import SourceRecord
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, jdbc_url


def make_settings(state: Path, max_offsets: int):
    return load_settings(
        "/dev/null",
        state={"dir": str(state)},
        kafka={"port": free_port(), "controller_port": free_port(), "partitions": 4, "heap": "1g"},
        postgres={"port": free_port()},
        spark={"master": "local[2]", "driver_memory": "2g", "shuffle_partitions": 2},
        ingest={"max_offsets_per_trigger": max_offsets, "trigger_interval": "0 seconds"},
    )


def quiesce() -> None:
    """Before a measured run: the earlier phases' gigabytes written back to disk first (``sync``), so
    the kernel's write-back of them does not land on whichever run comes next."""
    os.sync()
    time.sleep(1)


def inserted_so_far(settings, table: str) -> int:
    """Cheap progress probe (statistics, not a scan of the growing table)."""
    with connect(settings.postgres) as conn:
        row = conn.execute("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = %s", (table,)).fetchone()
    return row[0] if row else 0


def count_rows(settings, table: str) -> int:
    with connect(settings.postgres) as conn:
        try:
            return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
        except Exception:  # noqa: BLE001 - the table appears with the first batch
            return 0


def steady_rate(settings, table: str) -> float:
    """Rows per second from the first row written to the last (``ingested_at``): the rate once
    running, without the start-up (process start, group join, JVM, first fetch) in it."""
    with connect(settings.postgres) as conn:
        n, span = conn.execute(
            sql.SQL("SELECT count(*), extract(epoch FROM max(ingested_at) - min(ingested_at)) FROM {}").format(
                sql.Identifier(table)
            )
        ).fetchone()
    return round(n / float(span), 1) if span else 0.0


def run_engine(engine: str, settings, spark, topic: str, table: str, *, until_idle: bool, stop=None):
    if engine == "kafka":
        from streamsift.ingest.kafka_job import run_ingest_kafka

        return run_ingest_kafka(settings, topic=topic, table=table, until_idle=until_idle, timeout_s=900, stop=stop)
    return run_ingest(settings, spark=spark, topic=topic, table=table, until_idle=until_idle, timeout_s=900)


def bench_streamsift(
    settings, spark, items, expected: int, *, rate: float | None = None, suffix: str = "", engine: str = "spark"
) -> dict:
    """Producer and ingest at once; ``rate`` paces the producer (None: as fast as it goes)."""
    topic, table = f"bench.streamsift{suffix}.{engine}", f"raw_tweet_dataset_900{suffix.strip('.')}_{engine}"
    KafkaBroker(settings.kafka, settings.state.root).ensure_topics([topic])
    done, stop = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            run_engine(engine, settings, spark, topic, table, until_idle=False, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    quiesce()
    t = threading.Thread(target=ingest, daemon=True)
    t.start()
    time.sleep(8)  # the query is running and idle before the first record is sent
    t0, wall0 = time.perf_counter(), time.time()
    stats = produce((i.record for i in items), settings.kafka, settings.producer, topic=topic, rate=rate)
    produced_s = time.perf_counter() - t0
    while time.perf_counter() - t0 < 900 and not errors:
        time.sleep(1.0)
        if inserted_so_far(settings, table) >= expected and count_rows(settings, table) >= expected:
            break
    stop.set()
    for q in spark.streams.active:
        q.stop()
    done.wait(60)
    if errors:
        raise errors[0]
    with connect(settings.postgres) as conn:
        p50, p95, last = conn.execute(
            sql.SQL(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM {lag})),"
                " percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM {lag})),"
                " extract(epoch FROM max(ingested_at)) FROM {table}"
            ).format(lag=sql.SQL("ingested_at - kafka_timestamp"), table=sql.Identifier(table))
        ).fetchone()
        rows = count_rows(settings, table)
    total_s = float(last) - wall0  # first send → last row committed (same clock: same machine)
    return {
        "engine": engine,
        "producer_rate_cap": rate,
        "records_sent": stats.delivered,
        "producer_records_per_s": round(stats.delivered / produced_s, 1),
        "rows_in_postgres": rows,
        "expected_rows": expected,
        "seconds_first_send_to_last_row": round(total_s, 2),
        "sustained_tweets_per_s": round(rows / total_s, 1),
        "lag_p50_s": round(p50, 3),
        "lag_p95_s": round(p95, 3),
    }


def bench_baseline_send(settings, items, n: int) -> dict:
    """The original producer: one synchronous send (wait for the ack) per record."""
    topic = "bench.baseline.send"
    KafkaBroker(settings.kafka, settings.state.root).ensure_topics([topic])
    p = Producer({"bootstrap.servers": settings.kafka.bootstrap, "acks": "all", "linger.ms": 0})
    quiesce()
    t0 = time.perf_counter()
    for it in items[:n]:
        p.produce(topic, value=it.record.payload)
        p.flush()
    dt = time.perf_counter() - t0
    return {"records": n, "records_per_s": round(n / dt, 1)}


def bench_baseline_consumer(settings, spark, records: list[SourceRecord], suffix: str = "") -> dict:
    """The original consumer: from_json + per-batch JDBC append, no dedup, into an unkeyed table."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    topic, table = f"bench.baseline.consume{suffix}", f"baseline_raw_tweets{suffix.replace('.', '_')}"
    KafkaBroker(settings.kafka, settings.state.root).ensure_topics([topic])
    produce(records, settings.kafka, settings.producer, topic=topic)
    mb = sum(len(r.payload) for r in records) / 1e6
    schema = StructType(
        [StructField(n, StringType()) for n in ("id_str", "created_at", "text", "lang")]
        + [StructField("user", StructType([StructField("screen_name", StringType())]))]
    )
    pg = settings.postgres
    with connect(pg) as conn:  # the columns Spark appends, and when each row landed
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id_str text, created_at text, text text, lang text, "
                "screen_name text, ingested_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            ).format(sql.Identifier(table))
        )
    stream = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", settings.ingest.max_offsets_per_trigger)
        .load()
        .select(F.from_json(F.col("value").cast("string"), schema).alias("t"))
        .select("t.id_str", "t.created_at", "t.text", "t.lang", F.col("t.user.screen_name").alias("screen_name"))
    )

    def append(df, _id):
        (
            df.write.format("jdbc")
            .option("url", jdbc_url(pg))
            .option("dbtable", table)
            .option("user", pg.user)
            .option("driver", "org.postgresql.Driver")
            .mode("append")
            .save()
        )

    quiesce()
    t0 = time.perf_counter()
    with CpuSplit() as cpu:
        q = (
            stream.writeStream.foreachBatch(append)
            .option("checkpointLocation", str(settings.state.root / "checkpoints" / f"baseline{suffix}"))
            .trigger(availableNow=True)
            .start()
        )
        q.awaitTermination()
    dt = time.perf_counter() - t0
    rows = count_rows(settings, table)
    return {
        "rows_in_postgres": rows,
        "seconds": round(dt, 2),
        "rows_per_s": round(rows / dt, 1),
        "steady_messages_per_s": steady_rate(settings, table),  # one row per message
        "mb_per_s": round(mb / dt, 1),
        "cpu_seconds": cpu.seconds,
        "note": "no dedup: duplicates and malformed records are written as rows too",
    }


def bench_streamsift_consumer(
    settings, spark, records: list[SourceRecord], expected: int, suffix: str = "", engine: str = "spark"
) -> dict:
    """The streamsift consumer alone on a pre-filled topic (same conditions as the baseline consumer)."""
    topic = f"bench.streamsift.consume{suffix}.{engine}"
    table = f"raw_tweet_dataset_901{suffix.strip('.')}_{engine}"
    KafkaBroker(settings.kafka, settings.state.root).ensure_topics([topic])
    produce(records, settings.kafka, settings.producer, topic=topic)
    mb = sum(len(r.payload) for r in records) / 1e6
    quiesce()
    t0 = time.perf_counter()
    with CpuSplit() as cpu:
        stats = run_engine(engine, settings, spark, topic, table, until_idle=True)
    dt = time.perf_counter() - t0
    rows = count_rows(settings, table)
    assert rows == expected, (rows, expected)
    return {
        "engine": engine,
        "rows_in_postgres": rows,
        "messages": stats.totals.messages,
        "seconds": round(dt, 2),
        "messages_per_s": round(stats.totals.messages / dt, 1),
        # messages/s once running: the rows' rate, scaled by messages per row (duplicates and
        # malformed records are read but not written)
        "steady_messages_per_s": round(steady_rate(settings, table) * stats.totals.messages / rows, 1),
        "mb_per_s": round(mb / dt, 1),
        "cpu_seconds": cpu.seconds,
    }


def bench_replay_producer(settings, tmp: Path, n: int, file_lines: int = 20_000, repeat: int = 3) -> dict:
    """``streamsift produce --source replay --loop --limit n`` of real-size payloads, the command a user
    types, in its own process: ``file_lines`` distinct tweets in a .jsonl file, looped until ``n``
    records are sent (keys read from each payload, as always). The rate is the one the command prints
    (first record read → last delivery report); the median of ``repeat`` runs after an unmeasured one
    (the broker's first segments, the page cache). Not in this process: the bench's own heap (its
    lists of records) makes every garbage collection of the producer's loop slower (31–38k against
    47–48k records/s once the broker was warm, one probe)."""
    payloads, origin = real_size_payloads(file_lines, seed=9)
    path = tmp / "replay-real-size.jsonl"
    path.write_bytes(b"\n".join(payloads) + b"\n")
    topic = "bench.replay"
    KafkaBroker(settings.kafka, settings.state.root).ensure_topics([topic])
    env = child_env(settings)
    cmd = [sys.executable, "-m", "streamsift.cli", "produce", "--source", "replay", "--path", str(path), "--loop"]
    cmd += ["--topic", topic, "--limit"]

    def run(limit: int) -> tuple[float, float]:
        out = subprocess.run([*cmd, str(limit)], env=env, capture_output=True, text=True, timeout=600, check=True)
        m = re.search(r"produced ([\d,]+) records \(([\d.]+) MB\) in [\d.]+ s \(([\d,]+) records/s\)", out.stdout)
        if m is None:
            raise RuntimeError(f"unexpected output of streamsift produce: {out.stdout[-500:]}")
        sent, mb, rate = int(m[1].replace(",", "")), float(m[2]), float(m[3].replace(",", ""))
        assert sent == limit, (sent, limit)
        return rate, mb * rate / sent

    run(file_lines)
    runs = []
    for _ in range(repeat):
        quiesce()
        with CpuSplit() as cpu:
            rate, mb_per_s = run(n)
        runs.append((rate, mb_per_s, cpu.seconds))
    rate, mb_per_s, cpu_seconds = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    return {
        "payloads": origin,
        "records": n,
        "avg_payload_bytes": round(sum(map(len, payloads)) / len(payloads)),
        "records_per_s": round(rate),
        "mb_per_s": round(mb_per_s, 1),
        "runs_records_per_s": [round(r[0]) for r in runs],
        "cpu_seconds": cpu_seconds,
    }


def consumers(settings, spark, records, expected: int, engines: list[str], suffix: str = "") -> dict:
    """Each engine, then the baseline, on the same records; each engine's ratio to the baseline."""
    out = {e: bench_streamsift_consumer(settings, spark, records, expected, suffix=suffix, engine=e) for e in engines}
    base = bench_baseline_consumer(settings, spark, records, suffix=suffix)
    out["baseline_jdbc_append"] = base
    out["vs_baseline"] = {e: round(out[e]["messages_per_s"] / base["rows_per_s"], 2) for e in engines}
    out["steady_vs_baseline"] = {
        e: round(out[e]["steady_messages_per_s"] / base["steady_messages_per_s"], 2)
        for e in engines
        if base["steady_messages_per_s"]
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--real-count", type=int, default=50_000, help="real-size payloads of the real_size phase")
    ap.add_argument("--baseline-send", type=int, default=20_000)
    ap.add_argument("--max-offsets", type=int, default=50_000)
    ap.add_argument("--paced-rate", type=float, default=4000, help="records/s of the steady-state latency run")
    ap.add_argument("--paced-count", type=int, default=60_000)
    ap.add_argument("--phases", default="e2e,paced,consumer,real,replay,send", help="which phases to run")
    ap.add_argument("--replay-count", type=int, default=100_000, help="records of the replay producer phase")
    ap.add_argument(
        "--warm-up",
        type=int,
        default=30_000,
        help="records both consumers read first, unmeasured: a fresh Spark JVM spends its first tens of "
        "seconds compiling (JIT), and whichever consumer ran first would pay for both",
    )
    ap.add_argument("--engines", default="spark,kafka", help="streamsift's ingest engines to measure")
    args = ap.parse_args()
    phases = set(args.phases.split(","))
    engines = args.engines.split(",")

    items = list(generate(args.count, seed=2024))
    records = [i.record for i in items]
    expected = len({i.tweet_id for i in items if i.kind != "malformed"})
    result: dict = {
        "count": args.count,
        "distinct_valid_tweets": expected,
        "avg_payload_bytes": round(sum(len(r.payload) for r in records) / len(records)),
        "machine": {"cores": os.cpu_count()},
    }
    with tempfile.TemporaryDirectory(prefix="streamsift-bench-") as tmp:
        settings = make_settings(Path(tmp), args.max_offsets)
        up(settings)
        try:
            spark = get_spark(settings, app_name="streamsift-bench")
            if args.warm_up:
                warm = list(generate(args.warm_up, seed=2023))
                warm_expected = len({i.tweet_id for i in warm if i.kind != "malformed"})
                records_w = [i.record for i in warm]
                result["cold_start"] = {
                    "note": "the first records through a fresh Spark JVM (not a measure of steady state)",
                    "streamsift_consumer_only": bench_streamsift_consumer(
                        settings, spark, records_w, warm_expected, suffix=".warm"
                    ),
                    "baseline_consumer_jdbc_append": bench_baseline_consumer(
                        settings, spark, records_w, suffix=".warm"
                    ),
                }
            if "e2e" in phases:
                result["end_to_end"] = {
                    e: bench_streamsift(settings, spark, items, expected, engine=e) for e in engines
                }
            if "paced" in phases:
                paced = list(generate(args.paced_count, seed=2025))
                paced_expected = len({i.tweet_id for i in paced if i.kind != "malformed"})
                result["paced_latency"] = {
                    e: bench_streamsift(
                        settings, spark, paced, paced_expected, rate=args.paced_rate, suffix="1", engine=e
                    )
                    for e in engines
                }
            if "consumer" in phases:
                result["consumer_only"] = consumers(settings, spark, records, expected, engines)
            if "real" in phases:
                payloads, origin = real_size_payloads(args.real_count)
                real = [SourceRecord.from_payload(p) for p in payloads]
                result["real_size_consumer_only"] = {
                    "payloads": origin,
                    "avg_payload_bytes": round(sum(map(len, payloads)) / len(payloads)),
                    **consumers(settings, spark, real, len(real), engines, suffix=".real"),
                }
            if "replay" in phases:
                result["replay_producer_real_size"] = bench_replay_producer(settings, Path(tmp), args.replay_count)
            if "send" in phases:
                result["baseline_sync_send"] = bench_baseline_send(settings, items, args.baseline_send)
                if "end_to_end" in result:
                    result["producer_vs_sync_send"] = round(
                        result["end_to_end"][engines[0]]["producer_records_per_s"]
                        / result["baseline_sync_send"]["records_per_s"],
                        1,
                    )
            spark.stop()
        finally:
            down(settings, wipe=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
