"""What the Kafka-native consumers (``ingest --engine kafka`` and ``streamsift worker``) share."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from streamsift.errors import StreamsiftError
from streamsift.ingest.sink import KafkaMessage


class KafkaTopicError(StreamsiftError):
    """A topic the consumer needs cannot be read."""


def kafka_logger(name: str) -> logging.LoggerAdapter:
    """librdkafka's log lines for ``name``, to the log file only."""
    from streamsift.ingest.producer import _FileOnlyLog

    return _FileOnlyLog(logging.getLogger(f"streamsift.{name}.librdkafka"), {})


def message_time(timestamp: tuple[int, int]) -> datetime | None:
    kind, ms = timestamp
    return datetime.fromtimestamp(ms / 1000, UTC) if kind and ms > 0 else None


def kafka_messages(msgs: list[Any]) -> list[KafkaMessage]:
    """confluent-kafka messages (errors already dropped) as the sinks' :class:`KafkaMessage`."""
    out = []
    last: tuple[int, int] | None = None
    when = None
    for m in msgs:
        ts = m.timestamp()
        if ts != last:  # a producer's batch shares its milliseconds: one datetime for each
            last, when = ts, message_time(ts)
        out.append(KafkaMessage(m.value(), m.topic(), m.partition(), m.offset(), when))
    return out


def batch_ends(msgs: list[Any]) -> list[Any]:
    """The offsets to commit after a batch: one past the last record of each partition in it."""
    from confluent_kafka import TopicPartition

    ends: dict[tuple[str, int], int] = {}
    for m in msgs:
        key = (m.topic(), m.partition())
        ends[key] = max(ends.get(key, -1), m.offset() + 1)
    return [TopicPartition(t, p, o) for (t, p), o in ends.items()]


def caught_up(consumer: Any) -> bool:
    """Every assigned partition read to its end (nothing more to do right now)."""
    from confluent_kafka import TopicPartition

    assignment = consumer.assignment()
    if not assignment:
        return False
    positions = consumer.position(assignment)
    unfetched = [tp for tp in positions if tp.offset < 0]
    # A partition taken over in a rebalance has no position until something is fetched from it: its
    # group's committed offset says whether anything is left.
    committed = (
        {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(unfetched, timeout=10)} if unfetched else {}
    )
    for tp in positions:
        low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
        if tp.offset >= 0:
            done = tp.offset >= high
        else:
            at = committed.get((tp.topic, tp.partition), -1)
            done = at >= high if at >= 0 else high == low
        if not done:
            return False
    return True


def end_offsets(consumer: Any, topic: str) -> dict[int, int]:
    """Each partition of ``topic`` → its end offset (high watermark) now."""
    from confluent_kafka import TopicPartition

    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    if meta.error is not None:
        raise KafkaTopicError(f"cannot read topic {topic}: {meta.error}")
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in sorted(meta.partitions)}


def read_to(consumer: Any, targets: dict[int, int]) -> bool:
    """This consumer has read every partition assigned to it up to ``targets`` (local positions, no
    round trip). A partition it has not fetched from yet has no position: not read."""
    assignment = consumer.assignment()
    if not assignment:
        return False
    return all(tp.offset >= targets.get(tp.partition, 0) >= 0 for tp in consumer.position(assignment))


def group_reached(consumer: Any, topic: str, targets: dict[int, int]) -> bool:
    """The consumer's group has committed every partition of ``topic`` up to ``targets`` (a partition
    it never committed counts from its start)."""
    from confluent_kafka import TopicPartition

    parts = [TopicPartition(topic, p) for p in targets]
    for tp in consumer.committed(parts, timeout=10):
        target = targets[tp.partition]
        if tp.offset >= 0:
            if tp.offset < target:
                return False
        elif consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[0] < target:
            return False
    return True


__all__ = [
    "KafkaTopicError",
    "batch_ends",
    "caught_up",
    "end_offsets",
    "group_reached",
    "kafka_logger",
    "kafka_messages",
    "message_time",
    "read_to",
]
