"""The dashboard's pure parts: feed cursors, filter checks, reading a Spark checkpoint's offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamsift.web.dashboard import DashboardError, FeedFilter, _spark_positions, decode_cursor, encode_cursor


def test_cursor_round_trips_to_the_microsecond():
    at = datetime(2026, 12, 1, 23, 59, 58, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, 1234567890123456789)) == (at, 1234567890123456789)


@pytest.mark.parametrize("bad", ["", "x_1", "123_", "1796172393_1;DROP TABLE ai_tweets", "12_34"])
def test_a_cursor_that_is_not_one_is_refused(bad):
    with pytest.raises(DashboardError, match="cursor"):
        decode_cursor(bad)


@pytest.mark.parametrize(
    ("f", "problem"),
    [
        (FeedFilter(p_min=0.9, p_max=0.1), "p_min"),
        (FeedFilter(since=datetime(2026, 2, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)), "since"),
        (FeedFilter(q="x" * 201), "200"),
    ],
)
def test_impossible_filters_are_refused(f, problem):
    with pytest.raises(DashboardError, match=problem):
        f.check()


def test_spark_positions_are_those_of_the_last_committed_batch(tmp_path):
    (tmp_path / "offsets").mkdir()
    (tmp_path / "commits").mkdir()
    meta = '{"batchWatermarkMs":0,"batchTimestampMs":1,"conf":{}}'
    (tmp_path / "offsets" / "0").write_text(f'v1\n{meta}\n{{"tweets.raw":{{"0":10,"1":12}}}}')
    (tmp_path / "offsets" / "1").write_text(f'v1\n{meta}\n{{"tweets.raw":{{"0":20,"1":25}}}}')
    (tmp_path / "offsets" / "2").write_text(f'v1\n{meta}\n{{"tweets.raw":{{"0":30,"1":31}}}}')  # planned, not done
    (tmp_path / "commits" / "0").write_text("v1\n{}")
    (tmp_path / "commits" / "1").write_text("v1\n{}")
    assert _spark_positions(tmp_path) == {"tweets.raw": {0: 20, 1: 25}}
    assert _spark_positions(tmp_path / "nothing") is None
