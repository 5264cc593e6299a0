"""``streamsift classify``: live classification in Spark Structured Streaming (local and remote modes)."""

from __future__ import annotations

from collections import Counter

import pytest

from streamsift.live.spark_job import run_classify
from tests.integration.live_support import (
    ai_rows,
    live_settings,
    predictions_for,
    read_topic,
    reference_p_ai,
    stream_records,
)

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def test_local_mode_stores_ai_tweets_predictions_and_dead_letters(live_models, spark, topic_name, tmp_path):
    s = live_settings(live_models)
    _s, v1, _v2 = live_models
    records, valid, bad = stream_records(s, topic_name, 1500, seed=86)
    stats = run_classify(s, mode="local", until_idle=True, spark=spark, topic=topic_name, checkpoint=tmp_path / "ckpt")
    assert stats.messages == 1500 and stats.dead_letters == bad and stats.versions == {v1.version}
    ids = list(valid)
    p_ai = reference_p_ai(s, v1.version, [valid[i] for i in ids])
    want_ai = {i for i, p in zip(ids, p_ai, strict=True) if p >= 0.5}
    rows = ai_rows(s, set(ids))
    assert set(rows) == want_ai and all(r[1] == v1.version for r in rows.values())
    assert predictions_for(s, set(ids)) == records
    dead = [
        m
        for m in read_topic(s, s.kafka.topic_deadletter)
        if dict(m.headers() or []).get("source.topic") == topic_name.encode()
    ]
    assert len(dead) == bad and all(dict(m.headers())["reason"] for m in dead)
    # the same checkpoint again: nothing new to do
    again = run_classify(s, mode="local", until_idle=True, spark=spark, topic=topic_name, checkpoint=tmp_path / "ckpt")
    assert again.messages == 0
    assert Counter(ai_rows(s, set(ids))) == Counter(rows)
