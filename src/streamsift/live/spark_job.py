"""``streamsift classify``: live classification as a Spark Structured Streaming query.

    tweets.raw (own checkpoint: independent of ``ingest``)
      ─► foreachBatch(df, id): the driver reads the production version once (one version per
         micro-batch; a promotion is picked up between micro-batches, no restart)
      ─► mapInArrow in the executors: scoring.score_messages with the mode's runtime —
           local    OnnxRuntime loaded once per Python worker (files shipped with addFile on a cluster)
           remote   RemoteRuntime: batched calls to ``streamsift serve``, retries, a circuit breaker
           per-row  PerRowRuntime: one request per tweet (the original design, the baseline)
         ─► LiveSink: ai_tweets + tweet_urls (idempotent, one transaction per Arrow batch)
         ─► emits Kafka rows: predictions (key = tweet id) and dead letters (the payload + a reason header)
      ─► the Kafka sink writes them to tweets.predictions / tweets.deadletter

The checkpoint advances only after a micro-batch is written, so a crash replays it: the
PostgreSQL writes change nothing the second time; Spark's Kafka sink is at-least-once, so a
replay after a crash can repeat a prediction message (same tweet id and model version). The
``worker`` writes the topics exactly once with Kafka transactions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamsift.config import Settings
from streamsift.ingest.sink import KafkaMessage, utc
from streamsift.live.scoring import dead_letter_headers, score_messages
from streamsift.live.store import LiveSink, ensure_live_schema
from streamsift.store.connection import connect, connect_kwargs

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

OUT_SCHEMA = "topic string, key binary, value binary, headers array<struct<key:string,value:binary>>, ai boolean"


class Mode(StrEnum):
    local = "local"
    remote = "remote"
    per_row = "per-row"


@dataclass
class ClassifyStats:
    batches: int = 0
    messages: int = 0
    predictions: int = 0
    ai_tweets: int = 0
    dead_letters: int = 0
    versions: set[int] = field(default_factory=set)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["versions"] = sorted(self.versions)
        d["seconds"] = round(self.seconds, 2)
        d["tweets_per_s"] = round(self.messages / self.seconds, 1) if self.seconds else None
        return d


# One runtime per Python worker process and (mode, version): loaded on first use, kept for later batches.
_RUNTIMES: dict[tuple, Any] = {}


def _runtime(spec: dict[str, Any]):
    key = (spec["mode"], spec["name"], spec["version"], spec.get("path"))
    rt = _RUNTIMES.get(key)
    if rt is None:
        if spec["mode"] == Mode.local.value:
            from streamsift.serving.runtime import OnnxRuntime

            path = Path(spec["path"])
            if spec.get("shipped"):
                from pyspark import SparkFiles

                path = Path(SparkFiles.get(spec["shipped"]))
            rt = OnnxRuntime(path, name=spec["name"], version=spec["version"], max_chars=spec["max_chars"])
        else:
            from streamsift.live.remote import CircuitBreaker, PerRowRuntime, RemoteRuntime

            cls = RemoteRuntime if spec["mode"] == Mode.remote.value else PerRowRuntime
            rt = cls(
                spec["url"],
                name=spec["name"],
                version=spec["version"],
                classes=spec["classes"],
                batch=spec["remote_batch"],
                timeout_s=spec["timeout_s"],
                retry_window_s=spec["retry_window_s"],
                breaker=CircuitBreaker(spec["circuit_failures"], spec["circuit_reset_s"]),
                token=spec.get("token"),
            )
        rt.load()
        for old in [k for k in _RUNTIMES if k[:2] == key[:2]]:  # an older version of the same model: drop it
            _RUNTIMES.pop(old)
        _RUNTIMES[key] = rt
    return rt


_HEADERS = None


def _kafka_rows(scored, topics: dict[str, str]) -> pa.RecordBatch:
    """The Kafka sink's rows for a scored batch: predictions, then dead letters (payload + reason headers)."""
    import pyarrow as pa

    global _HEADERS
    if _HEADERS is None:
        _HEADERS = pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())]))
    ai_ids = {r[0] for r in scored.ai_rows}
    preds, dead = scored.predictions, scored.dead
    headers = [[{"key": k, "value": v} for k, v in dead_letter_headers(m, reason)] for m, reason in dead]
    return pa.RecordBatch.from_arrays(
        [
            pa.array([topics["predictions"]] * len(preds) + [topics["deadletter"]] * len(dead), pa.string()),
            pa.array([k for k, _ in preds] + [None] * len(dead), pa.binary()),
            pa.array([v for _, v in preds] + [m.value for m, _ in dead], pa.binary()),
            pa.array([[]] * len(preds) + headers, _HEADERS),
            pa.array([int(k) in ai_ids for k, _ in preds] + [False] * len(dead), pa.bool_()),
        ],
        names=["topic", "key", "value", "headers", "ai"],
    )


_SINKS: dict[tuple[str, float], LiveSink] = {}


def _sink(pg: dict[str, Any], retry_s: float) -> LiveSink:
    """One sink (one PostgreSQL connection) per Python worker, kept across tasks and micro-batches."""
    key = (str(pg.get("conninfo")), retry_s)
    if key not in _SINKS:
        _SINKS[key] = LiveSink(pg, retry_window_s=retry_s)
    return _SINKS[key]


def _scorer(spec: dict[str, Any], pg: dict[str, Any], topics: dict[str, str], cs: dict[str, Any], counters=None):
    """The function every executor runs on its Arrow batches (picklable: plain data only)."""

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:

        from streamsift.logs import configure_worker_logging

        configure_worker_logging()
        rt = _runtime(spec)
        sink = _sink(pg, cs["sink_retry_s"])
        for batch in batches:
            cols = batch.to_pydict()
            msgs = [
                KafkaMessage(v, t, p, o, utc(ts))
                for v, t, p, o, ts in zip(
                    cols["value"], cols["topic"], cols["partition"], cols["offset"], cols["timestamp"], strict=True
                )
            ]
            for start in range(0, len(msgs), cs["batch_size"]):
                part = msgs[start : start + cs["batch_size"]]
                scored = score_messages(
                    rt,
                    part,
                    positive_class=cs["positive_class"],
                    threshold=cs["threshold"],
                    source=f"spark-{spec['mode']}",
                    max_chars=spec["max_chars"],
                )
                sink.write(scored)
                if counters is not None:  # (predictions, AI tweets, dead letters) for the driver's log line
                    counters[0].add(len(scored.predictions))
                    counters[1].add(len(scored.ai_rows))
                    counters[2].add(len(scored.dead))
                yield _kafka_rows(scored, topics)

    return score


def run_classify(
    settings: Settings,
    *,
    mode: Mode | str = Mode.local,
    until_idle: bool = False,
    spark: SparkSession | None = None,
    topic: str | None = None,
    timeout_s: float | None = None,
    checkpoint: Path | None = None,
) -> ClassifyStats:
    """Run the classify stream until stopped, ``timeout_s``, or (``until_idle``) the topic is drained."""
    import os

    from streamsift.infra.spark import await_query, get_spark
    from streamsift.serving.manager import ModelManager, ModelNotReady

    mode = Mode(mode)
    cs = settings.classify
    with connect(settings.postgres) as conn:
        ensure_live_schema(conn)
    manager = ModelManager(settings)  # follows promotions (models.events + registry poll) in the driver
    manager.start()
    if not manager.ready:
        manager.close()
        raise ModelNotReady(
            f"no production version of {settings.model.name} to classify with",
            hint="train and promote one (`streamsift models promote V`)",
        )
    spark = spark or get_spark(settings, app_name=f"streamsift-classify-{mode.value}")
    pg = connect_kwargs(settings.postgres)
    topics = {"predictions": settings.kafka.topic_predictions, "deadletter": settings.kafka.topic_deadletter}
    cs_plain = {k: getattr(cs, k) for k in ("positive_class", "threshold", "batch_size", "sink_retry_s")}
    shipped: set[str] = set()
    stats = ClassifyStats()
    start = time.perf_counter()

    def for_each_batch(df: DataFrame, batch_id: int) -> None:
        t0 = time.perf_counter()
        rt = manager.current()  # one version for the whole micro-batch
        spec: dict[str, Any] = {
            "mode": mode.value,
            "name": rt.name,
            "version": rt.version,
            "classes": list(rt.classes),
            "path": str(rt.path),
            "max_chars": settings.model.max_chars,
            "url": cs.server_url,
            "remote_batch": 1 if mode is Mode.per_row else cs.remote_batch,
            "timeout_s": cs.remote_timeout_s,
            "retry_window_s": cs.sink_retry_s,
            "circuit_failures": cs.circuit_failures,
            "circuit_reset_s": cs.circuit_reset_s,
            "token": os.environ.get(settings.serving.auth_token_env) or None,
        }
        if mode is Mode.local and settings.spark.standalone:  # executors on other machines: ship the files
            name = f"{rt.name}-v{rt.version}"
            if name not in shipped:
                import shutil
                import tempfile

                tmp = Path(tempfile.mkdtemp(prefix="streamsift-model-")) / name
                shutil.copytree(rt.path, tmp)
                spark.sparkContext.addFile(str(tmp), recursive=True)
                shipped.add(name)
            spec["shipped"] = name
        # One Spark job per micro-batch: scoring, PostgreSQL and the Kafka sink in the same tasks; the
        # counts come back through accumulators (a second counting job cost ~0.5 s of lag per batch).
        sc = spark.sparkContext
        counters = (sc.accumulator(0), sc.accumulator(0), sc.accumulator(0))
        (
            df.mapInArrow(_scorer(spec, pg, topics, cs_plain, counters), OUT_SCHEMA)
            .select("topic", "key", "value", "headers")
            .write.format("kafka")
            .option("kafka.bootstrap.servers", settings.kafka.bootstrap)
            .option("includeHeaders", "true")
            .save()
        )
        n_pred, n_ai, n_dead = (int(c.value) for c in counters)
        stats.batches += 1
        stats.messages += n_pred + n_dead
        stats.predictions += n_pred
        stats.ai_tweets += n_ai
        stats.dead_letters += n_dead
        if n_pred + n_dead:
            stats.versions.add(rt.version)
            dt = time.perf_counter() - t0
            log.info(
                "batch %d (version %d): %d records → %d AI tweets, %d dead letters (%.0f/s)",
                batch_id,
                rt.version,
                n_pred + n_dead,
                n_ai,
                n_dead,
                (n_pred + n_dead) / dt if dt else 0.0,
            )

    topic = topic or settings.kafka.topic_raw
    checkpoint = checkpoint or settings.state.root / "checkpoints" / "classify" / f"{topic}-{mode.value}"
    stream = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", cs.starting_offsets)
        .option("maxOffsetsPerTrigger", cs.max_offsets_per_trigger)
        .option("failOnDataLoss", "true")
        .load()
        .select("value", "topic", "partition", "offset", "timestamp")
        .writeStream.queryName(f"classify_{mode.value}")
        .foreachBatch(for_each_batch)
        .option("checkpointLocation", str(checkpoint))
    )
    stream = stream.trigger(availableNow=True) if until_idle else stream.trigger(processingTime=cs.trigger_interval)
    query = stream.start()
    log.info("classifying %s (%s mode, checkpoint %s)", topic, mode.value, checkpoint)
    try:
        await_query(query, what="the classify query", settings=settings, timeout_s=timeout_s)
    finally:
        manager.close()
    stats.seconds = time.perf_counter() - start
    return stats


__all__ = ["ClassifyStats", "Mode", "run_classify"]
