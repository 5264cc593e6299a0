"""``streamsift worker``: live classification as a Kafka consumer-group service (no Spark).

Each loop: poll up to ``classify.batch_size`` records → score them with the production model
(read once per batch, so one version scores a batch) → upsert the AI tweets into PostgreSQL
(retried through outages) → in one Kafka transaction, produce every prediction to
``tweets.predictions`` and every unparsable record to ``tweets.deadletter`` and commit the
consumed offsets (``send_offsets_to_transaction``).

So a crash anywhere — kill -9 included — replays the batch from the last committed offsets:
the PostgreSQL writes are idempotent and the half-done Kafka transaction is aborted, so
nothing is lost or doubled for ``read_committed`` readers of the topics. More workers in the
same group share the partitions; a rebalance happens between batches. Models swap on
``models.events`` (loaded and warmed first) through the model server's
:class:`~streamsift.serving.manager.ModelManager`. SIGTERM finishes the batch, commits and exits.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.ingest.consumer import batch_ends, caught_up, kafka_logger, kafka_messages
from streamsift.live.scoring import dead_letter_headers, score_messages
from streamsift.live.store import LiveSink
from streamsift.serving.manager import ModelManager, ModelNotReady
from streamsift.store.connection import connect_kwargs

log = logging.getLogger(__name__)


class WorkerError(StreamsiftError):
    """The worker cannot go on (the broker refused a transaction, the database stayed away, ...)."""


@dataclass
class WorkerStats:
    batches: int = 0
    messages: int = 0
    scored: int = 0
    ai_tweets: int = 0
    dead_letters: int = 0
    versions: set[int] = field(default_factory=set)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["versions"] = sorted(self.versions)
        d["tweets_per_s"] = round(self.messages / self.seconds, 1) if self.seconds else None
        return d


def run_worker(
    settings: Settings,
    *,
    until_idle: bool = False,
    worker_id: str | None = None,
    stop: threading.Event | None = None,
    on_batch: Callable[[int], None] | None = None,
    topic: str | None = None,
) -> WorkerStats:
    """Classify ``tweets.raw`` until stopped (SIGTERM/SIGINT or ``stop``), or until idle."""
    from confluent_kafka import Consumer, KafkaException, Producer

    cs = settings.classify
    topic = topic or settings.kafka.topic_raw
    stop = stop or threading.Event()
    worker_id = worker_id or uuid.uuid4().hex[:12]
    manager = ModelManager(settings)
    manager.start()
    deadline = time.monotonic() + 60
    while not manager.ready:
        if stop.is_set() or time.monotonic() > deadline:
            manager.close()
            raise ModelNotReady(
                f"no production version of {settings.model.name} to classify with",
                hint="train and promote one (`streamsift models promote V`)",
            )
        time.sleep(1)
        manager.refresh()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap,
            "group.id": cs.group_id,
            "client.id": f"streamsift-worker-{worker_id}",
            "enable.auto.commit": False,
            "auto.offset.reset": cs.starting_offsets,
            "isolation.level": "read_committed",
            "partition.assignment.strategy": "cooperative-sticky",
            "logger": kafka_logger("live.consumer"),
        }
    )
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka.bootstrap,
            "transactional.id": f"{cs.group_id}-{worker_id}",
            "transaction.timeout.ms": 30_000,
            "linger.ms": 5,
            "compression.type": "lz4",
            "logger": kafka_logger("live.producer"),
        }
    )
    sink = LiveSink(connect_kwargs(settings.postgres), retry_window_s=cs.sink_retry_s)
    stats = WorkerStats()
    t0 = time.monotonic()
    try:
        producer.init_transactions(30)
        consumer.subscribe([topic])
        idle_polls = 0
        while not stop.is_set():
            msgs = consumer.consume(cs.batch_size, timeout=0.5)
            msgs = [m for m in msgs if m.error() is None]
            if not msgs:
                idle_polls += 1
                if until_idle and idle_polls >= 3 and caught_up(consumer):
                    break
                continue
            idle_polls = 0
            runtime = manager.current()  # one version for the whole batch
            batch = kafka_messages(msgs)
            scored = score_messages(
                runtime,
                batch,
                positive_class=cs.positive_class,
                threshold=cs.threshold,
                source="worker",
                max_chars=settings.model.max_chars,
            )
            # PostgreSQL first (retried through outages, outside any Kafka transaction, so a long
            # database outage cannot outlive the transaction timeout), then one short transaction:
            # predictions + dead letters + the consumed offsets.
            sink.write(scored)
            while not _commit_batch(producer, consumer, settings, scored, msgs):
                pass
            stats.batches += 1
            stats.messages += len(msgs)
            stats.scored += scored.scored
            stats.ai_tweets += len(scored.ai_rows)
            stats.dead_letters += len(scored.dead)
            stats.versions.add(scored.model_version)
            if on_batch:
                on_batch(len(msgs))
    except KafkaException as exc:
        raise WorkerError(f"Kafka: {exc.args[0].str() if exc.args else exc}") from exc
    finally:
        stats.seconds = time.monotonic() - t0
        consumer.close()  # leaves the group: its partitions move to the other workers at once
        sink.close()
        manager.close()
    log.info("worker %s stopped after %d batches (%d records)", worker_id, stats.batches, stats.messages)
    return stats


def _commit_batch(producer, consumer, settings: Settings, scored, msgs) -> bool:
    """Produce a batch's outputs and commit its offsets in one Kafka transaction.

    False when the transaction had to be aborted (a retriable error): the caller tries again.
    A fatal error (this producer fenced by a newer instance) raises.
    """
    from confluent_kafka import KafkaException

    try:
        producer.begin_transaction()
        for key, value in scored.predictions:
            _produce(producer, settings.kafka.topic_predictions, key, value)
        for m, reason in scored.dead:
            _produce(producer, settings.kafka.topic_deadletter, None, m.value, headers=dead_letter_headers(m, reason))
        producer.send_offsets_to_transaction(batch_ends(msgs), consumer.consumer_group_metadata(), 30)
        producer.commit_transaction(60)
        return True
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if err is not None and err.txn_requires_abort():
            log.warning("Kafka transaction aborted (%s): sending the batch again", err.str())
            producer.abort_transaction(30)
            return False
        if err is not None and err.retriable():
            log.warning("Kafka transaction commit failed (%s): retrying", err.str())
            time.sleep(1)
            return False
        raise


def _produce(producer, topic: str, key: bytes | None, value: bytes | None, headers=None) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key, headers=headers)
            return
        except BufferError:  # the local queue is full: let librdkafka send some
            producer.poll(0.05)


def group_lag(settings: Settings, *, timeout_s: float = 10.0) -> int:
    """Records of the raw topic the worker group has not classified yet (committed offset to end of
    every partition; a partition the group never committed counts from its start)."""
    from confluent_kafka import Consumer, TopicPartition

    topic = settings.kafka.topic_raw
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap,
            "group.id": settings.classify.group_id,  # only read: this consumer never subscribes or commits
            "enable.auto.commit": False,
            "logger": kafka_logger("live.lag"),
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        if meta.error is not None:
            raise WorkerError(f"cannot read topic {topic}: {meta.error}")
        parts = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        lag = 0
        for tp in consumer.committed(parts, timeout=timeout_s):
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            lag += max(high - (tp.offset if tp.offset >= 0 else low), 0)
        return lag
    finally:
        consumer.close()


__all__ = ["WorkerError", "WorkerStats", "group_lag", "run_worker"]
