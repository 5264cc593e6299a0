"""Pure parts of the Kafka-native consumers (ingest --engine kafka, the live worker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamsift.config import load_settings
from streamsift.ingest.consumer import batch_ends, kafka_messages, message_time, read_to


class _Msg:
    """The accessors of a confluent-kafka Message the helpers read."""

    def __init__(self, partition: int, offset: int, value: bytes = b"{}", ts: tuple[int, int] = (1, 1_700_000_000_000)):
        self._p, self._o, self._v, self._ts = partition, offset, value, ts

    def topic(self) -> str:
        return "tweets.raw"

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def value(self) -> bytes:
        return self._v

    def timestamp(self) -> tuple[int, int]:
        return self._ts


def test_batch_ends_are_one_past_the_last_record_of_each_partition():
    msgs = [_Msg(0, 5), _Msg(1, 9), _Msg(0, 7), _Msg(0, 6), _Msg(2, 0)]
    ends = {(tp.topic, tp.partition): tp.offset for tp in batch_ends(msgs)}
    assert ends == {("tweets.raw", 0): 8, ("tweets.raw", 1): 10, ("tweets.raw", 2): 1}


def test_message_time_is_utc_or_none():
    assert message_time((1, 1_700_000_000_000)) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert message_time((0, -1)) is None  # TIMESTAMP_NOT_AVAILABLE
    assert message_time((1, 0)) is None


def test_kafka_messages_keep_coordinates_and_payload():
    (m,) = kafka_messages([_Msg(3, 42, b'{"id_str": "1"}')])
    assert (m.topic, m.partition, m.offset, m.value) == ("tweets.raw", 3, 42, b'{"id_str": "1"}')
    assert m.timestamp is not None and m.timestamp.tzinfo is UTC


def test_ingest_engine_setting():
    assert load_settings("/dev/null").ingest.engine == "spark"
    assert load_settings("/dev/null", ingest={"engine": "kafka", "workers": 3}).ingest.workers == 3
    with pytest.raises(Exception, match="engine"):
        load_settings("/dev/null", ingest={"engine": "flink"})


class _Positions:
    """A consumer's assignment and local positions (what :func:`read_to` reads)."""

    def __init__(self, positions: dict[int, int]):
        from confluent_kafka import TopicPartition

        self._tps = [TopicPartition("tweets.raw", p, o) for p, o in positions.items()]

    def assignment(self):
        return self._tps

    def position(self, _assignment):
        return self._tps


def test_read_to_needs_every_assigned_partition_at_its_target():
    targets = {0: 10, 1: 20, 2: 5}
    assert read_to(_Positions({0: 10, 1: 20}), targets)  # partition 2 belongs to another worker
    assert not read_to(_Positions({0: 10, 1: 19}), targets)
    assert not read_to(_Positions({0: 10, 1: -1001}), targets)  # nothing fetched yet: no position
    assert not read_to(_Positions({}), targets)  # nothing assigned yet
