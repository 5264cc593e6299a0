"""The Python half of ingest, without Spark or Kafka: where does a message's time go?

For synthetic (~1.3 KB) and real-size (~6.4 KB, see ``payloads.py``) v1.1 payloads, on one core:

* ``orjson_loads``: parsing alone (the floor of any Python normaliser);
* ``normalise``: :func:`streamsift.ingest.sink.rows_from_messages` (parse, normalise, row tuples), with
  the compiled path and (``normalise_python_path``) without it;
* ``sink_write``: :meth:`RawTweetSink.write` into a real PostgreSQL (normalise + dedup probe + COPY of
  the raw table, ``tweet_urls`` and dead letters, one transaction per batch), on a fresh table each
  time, for ``raw`` as ``json`` stored as ``ingest.raw_compression=auto`` says and with pglz, and as
  ``jsonb`` (before).

``--profile`` adds the top functions of a cProfile run of ``normalise`` on the real-size payloads.

    python bench/ingest_sink.py [--count 20000] [--batch 5000] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from payloads import real_size_payloads
from streamsift.config import load_settings
from streamsift.infra.postgres import PostgresServer
from streamsift.infra.process import free_port
from streamsift.ingest.sink import KafkaMessage, RawTweetSink, native_available, rows_from_messages
from streamsift.sources.synthetic import generate
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema


def messages(payloads: list[bytes]) -> list[KafkaMessage]:
    now = datetime.now(UTC)
    return [KafkaMessage(p, "tweets.raw", i % 4, i, now) for i, p in enumerate(payloads)]


def best_of(repeat: int, fn) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _loads(payload: bytes):
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:  # the synthetic stream's malformed records
        return None


def bench_python(payloads: list[bytes], repeat: int) -> dict:
    msgs = messages(payloads)
    n, mb = len(payloads), sum(map(len, payloads)) / 1e6
    parse, _ = best_of(repeat, lambda: [_loads(p) for p in payloads])
    norm, runs = best_of(repeat, lambda: rows_from_messages(msgs))
    python, _ = best_of(repeat, lambda: rows_from_messages(msgs, native=False))
    return {
        "messages": n,
        "avg_bytes": round(mb * 1e6 / n),
        "orjson_loads_msg_per_s": round(n / parse),
        "compiled_path_built": native_available(),
        "normalise_msg_per_s": round(n / norm),
        "normalise_mb_per_s": round(mb / norm, 1),
        "normalise_runs_s": [round(t, 3) for t in runs],
        "normalise_python_path_msg_per_s": round(n / python),
    }


def bench_sink(settings, payloads: list[bytes], batch: int, repeat: int, raw_type: str, compression: str) -> dict:
    msgs = messages(payloads)
    kwargs = connect_kwargs(settings.postgres)
    rates = []
    for r in range(repeat):
        table = f"bench_sink_{raw_type}_{compression}_{r}"
        with connect(settings.postgres) as conn:
            conn.execute("DROP TABLE IF EXISTS tweet_urls, dead_letters")
            ensure_ingest_schema(conn, table, compression)
            if raw_type == "jsonb":
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN raw TYPE jsonb USING raw::jsonb")
        sink = RawTweetSink(kwargs, table)
        t0 = time.perf_counter()
        for i in range(0, len(msgs), batch):
            sink.write(msgs[i : i + batch])
        rates.append(len(msgs) / (time.perf_counter() - t0))
        sink.close()
    return {
        "raw_type": raw_type,
        "raw_compression": compression,
        "msg_per_s_median": round(statistics.median(rates)),
        "runs": [round(x) for x in rates],
    }


def profile(payloads: list[bytes], top: int = 18) -> str:
    msgs = messages(payloads)
    prof = cProfile.Profile()
    prof.enable()
    rows_from_messages(msgs)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=5_000, help="messages per sink write (one transaction)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-db", action="store_true", help="only the Python half")
    args = ap.parse_args()

    synthetic = [i.record.payload for i in generate(args.count, seed=7)]
    real, origin = real_size_payloads(args.count)
    result: dict = {"real_size_payloads": origin}
    result["python"] = {"synthetic": bench_python(synthetic, args.repeat), "real_size": bench_python(real, args.repeat)}
    if not args.no_db:
        with tempfile.TemporaryDirectory(prefix="streamsift-bench-") as tmp:
            settings = load_settings("/dev/null", state={"dir": tmp}, postgres={"port": free_port()})
            pg = PostgresServer(settings.postgres, Path(tmp))
            pg.start()
            try:
                result["sink"] = {
                    kind: [
                        bench_sink(settings, p, args.batch, args.repeat, t, c)
                        for t, c in (("json", "auto"), ("json", "pglz"), ("jsonb", "pglz"))
                    ]
                    for kind, p in (("synthetic", synthetic), ("real_size", real))
                }
            finally:
                pg.stop()
    print(json.dumps(result, indent=2))
    if args.profile:
        print(profile(real), file=sys.stderr)


if __name__ == "__main__":
    main()
