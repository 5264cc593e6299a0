"""The Kafka producer every source writes through (confluent-kafka / librdkafka).

Idempotent (``enable.idempotence``: no duplicates from producer retries), keyed by
tweet id (one tweet always lands in the same partition), compressed, batched with
``linger.ms``. Delivery reports are counted; the queue is flushed on exit and on
Ctrl-C; an optional rate limit paces the stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Producer

from streamsift.config import KafkaSettings, ProducerSettings
from streamsift.errors import StreamsiftError
from streamsift.sources.base import SourceRecord

log = logging.getLogger(__name__)


class ProduceError(StreamsiftError):
    """Records could not be delivered to Kafka."""


@dataclass
class ProduceStats:
    """What a produce run did."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "records_per_s": round(self.rate, 1),
            "interrupted": self.interrupted,
            "errors": self.errors,
        }


class _FileOnlyLog(logging.LoggerAdapter):
    """librdkafka's own log lines go to the log file, not the terminal (see :mod:`streamsift.logs`)."""

    def process(self, msg, kwargs):
        kwargs["extra"] = {**kwargs.get("extra", {}), "file_only": True}
        return msg, kwargs


def _on_error(err: KafkaError) -> None:
    """Client-level errors: a broker blip is transient (records wait in the buffer and are retried)."""
    if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
        log.warning("Kafka unreachable (%s); the producer buffers records and retries", err.str())
    else:
        log.error("Kafka producer error: %s", err.str())


def producer_config(kafka: KafkaSettings, producer: ProducerSettings) -> dict:
    return {
        "bootstrap.servers": kafka.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": producer.compression,
        "linger.ms": producer.linger_ms,
        "batch.size": producer.batch_size,
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "message.max.bytes": 10_000_000,
        "log_level": 3,
        "logger": _FileOnlyLog(logging.getLogger("streamsift.ingest.librdkafka"), {}),
        "error_cb": _on_error,
    }


def produce(
    records: Iterable[SourceRecord],
    kafka: KafkaSettings,
    producer_settings: ProducerSettings,
    *,
    topic: str | None = None,
    rate: float | None = None,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    producer: Producer | None = None,
) -> ProduceStats:
    """Send ``records`` to ``topic`` (default ``tweets.raw``) and wait for every delivery report.

    ``rate`` caps records per second; ``limit`` stops after that many records;
    ``on_progress(n)`` is called with the number of newly sent records.
    A KeyboardInterrupt stops reading the source, flushes what was sent and re-raises.
    """
    topic = topic or kafka.topic_raw
    p = producer or Producer(producer_config(kafka, producer_settings))
    stats = ProduceStats()

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is None:
            stats.delivered += 1
        else:
            stats.failed += 1
            stats.errors[err.name()] = stats.errors.get(err.name(), 0) + 1

    start = time.perf_counter()
    pending_progress = 0
    try:
        for rec in records:
            if limit is not None and stats.sent >= limit:
                break
            while True:
                try:
                    cb = on_delivery if rec.ack is None else _acking(on_delivery, rec.ack)
                    p.produce(topic, value=rec.payload, key=rec.key, on_delivery=cb)
                    if rec.ack is not None:
                        p.poll(0)  # serve delivery reports now: a live source's resume point moves with them
                    break
                except BufferError:  # local queue full: let librdkafka drain it
                    p.poll(0.05)
            stats.sent += 1
            stats.bytes += len(rec.payload)
            pending_progress += 1
            if pending_progress >= 1000:
                p.poll(0)
                if on_progress:
                    on_progress(pending_progress)
                pending_progress = 0
                if rate:
                    ahead = stats.sent / rate - (time.perf_counter() - start)
                    if ahead > 0:
                        time.sleep(ahead)
            elif rate and rate < 1000:
                ahead = stats.sent / rate - (time.perf_counter() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except KeyboardInterrupt:
        stats.interrupted = True
        log.warning("interrupted: flushing %d queued records", len(p))
    finally:
        remaining = p.flush(60)
        if on_progress and pending_progress:
            on_progress(pending_progress)
        stats.seconds = time.perf_counter() - start
    if remaining:
        stats.failed += remaining
        stats.errors["not_flushed"] = remaining
    if stats.interrupted:
        raise KeyboardInterrupt
    if stats.failed:
        raise ProduceError(f"{stats.failed} of {stats.sent} records were not delivered to {topic}: {stats.errors}")
    return stats


def _acking(on_delivery: Callable[[KafkaError | None, object], None], ack: Callable[[], None]):
    def cb(err: KafkaError | None, msg: object) -> None:
        on_delivery(err, msg)
        if err is None:
            ack()

    return cb


__all__ = ["ProduceError", "ProduceStats", "produce", "producer_config"]
