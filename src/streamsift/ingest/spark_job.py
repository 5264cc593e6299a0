"""``streamsift ingest``: Spark Structured Streaming from ``tweets.raw`` into the raw table.

Kafka source → ``foreachBatch`` → in each executor, ``mapInArrow`` hands its
slice of the micro-batch to :class:`~streamsift.ingest.sink.RawTweetSink`, which
normalises the payloads and writes them with COPY + ``INSERT … ON CONFLICT DO
NOTHING`` in one transaction per partition. Checkpoints under the state folder
make the offsets advance only after a batch is written (at-least-once), and the
idempotent writes make the result exactly-once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from streamsift.config import Settings
from streamsift.ingest.sink import IngestStats, KafkaMessage, RawTweetSink, WriteResult, utc
from streamsift.store.connection import connect, connect_kwargs
from streamsift.store.schema import ensure_ingest_schema
from streamsift.store.tables import raw_table

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

_RESULT_SCHEMA = "messages long, inserted long, duplicates long, dead_letters long, urls long"


def _partition_writer(kwargs: dict[str, Any], table: str, retry_window_s: float):
    """The function each executor runs on its Arrow batches (must be picklable)."""

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from streamsift.infra.process import freeze_heap_once
        from streamsift.logs import configure_worker_logging

        configure_worker_logging()
        # A micro-batch makes millions of short-lived, acyclic objects: with the default thresholds
        # the collector ran constantly, scanning everything pyspark and pyarrow brought (~30 % of the
        # worker's time; docs/benchmarks.md, "Ingest hot path").
        freeze_heap_once()
        total = WriteResult()
        sink = RawTweetSink(kwargs, table, retry_window_s=retry_window_s)
        try:
            for batch in batches:
                cols = batch.to_pydict()
                msgs = [
                    KafkaMessage(v, t, p, o, utc(ts))
                    for v, t, p, o, ts in zip(
                        cols["value"],
                        cols["topic"],
                        cols["partition"],
                        cols["offset"],
                        cols["timestamp"],
                        strict=True,
                    )
                ]
                total += sink.write(msgs)
        finally:
            sink.close()
        yield pa.RecordBatch.from_pydict(
            {k: [getattr(total, k)] for k in ("messages", "inserted", "duplicates", "dead_letters", "urls")}
        )

    return write


def kafka_stream(spark: SparkSession, settings: Settings, topic: str | None = None) -> DataFrame:
    """The ``tweets.raw`` topic as a streaming DataFrame."""
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap)
        .option("subscribe", topic or settings.kafka.topic_raw)
        .option("startingOffsets", settings.ingest.starting_offsets)
        .option("maxOffsetsPerTrigger", settings.ingest.max_offsets_per_trigger)
        .option("failOnDataLoss", "true")
        .load()
        .select("value", "topic", "partition", "offset", "timestamp")
    )


def run_ingest(
    settings: Settings,
    *,
    until_idle: bool = False,
    spark: SparkSession | None = None,
    topic: str | None = None,
    table: str | None = None,
    timeout_s: float | None = None,
) -> IngestStats:
    """Run the ingest stream. ``until_idle``: process what the topic holds, then return.

    Without ``until_idle`` it runs until stopped (Ctrl-C) or ``timeout_s`` passes.
    """
    from streamsift.infra.spark import await_query, get_spark

    table = table or raw_table(settings.dataset.prefix, settings.dataset.version)
    with connect(settings.postgres) as conn:
        ensure_ingest_schema(conn, table, settings.ingest.raw_compression)
    spark = spark or get_spark(settings, app_name="streamsift-ingest")
    kwargs = connect_kwargs(settings.postgres)
    writer = _partition_writer(kwargs, table, settings.ingest.sink_retry_s)
    stats = IngestStats(totals=WriteResult())
    start = time.perf_counter()

    def for_each_batch(df: DataFrame, batch_id: int) -> None:
        t0 = time.perf_counter()
        rows = df.mapInArrow(writer, _RESULT_SCHEMA).collect()
        batch = WriteResult()
        for r in rows:
            batch += WriteResult(r.messages, r.inserted, r.duplicates, r.dead_letters, r.urls)
        stats.batches += 1
        assert stats.totals is not None
        stats.totals += batch
        dt = time.perf_counter() - t0
        if batch.messages:
            log.info(
                "batch %d: %d messages → %d new tweets, %d duplicates, %d dead letters, %d urls (%.0f msg/s)",
                batch_id,
                batch.messages,
                batch.inserted,
                batch.duplicates,
                batch.dead_letters,
                batch.urls,
                batch.messages / dt if dt else 0.0,
            )

    checkpoint = settings.state.root / "checkpoints" / "ingest" / table
    writer_stream = (
        kafka_stream(spark, settings, topic)
        .writeStream.queryName(f"ingest_{table}")
        .foreachBatch(for_each_batch)
        .option("checkpointLocation", str(checkpoint))
    )
    if until_idle:
        writer_stream = writer_stream.trigger(availableNow=True)
    else:
        writer_stream = writer_stream.trigger(processingTime=settings.ingest.trigger_interval)
    query = writer_stream.start()
    log.info("ingesting %s → %s (checkpoint %s)", topic or settings.kafka.topic_raw, table, checkpoint)
    await_query(query, what="the ingest query", settings=settings, timeout_s=timeout_s)
    stats.seconds = time.perf_counter() - start
    return stats


__all__ = ["IngestStats", "kafka_stream", "run_ingest"]
