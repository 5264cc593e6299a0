"""Pure parts of the Kafka-native consumers (ingest --engine kafka, the live worker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamsift.config import load_settings
from streamsift.ingest.consumer import batch_ends, kafka_messages, message_time


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
