"""``streamsift classify``: live classification in Spark Structured Streaming (local and remote modes)."""

from __future__ import annotations

import itertools
from collections import Counter

import httpx
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


def _stop_query(spark, name: str) -> None:
    for q in spark.streams.active:
        if q.name == name:
            q.stop()


def test_remote_and_per_row_modes_classify_through_the_model_server(live_models, spark, topic_name, tmp_path):
    import os

    from tests.support.serve_process import TOKEN, Server

    _s, v1, _v2 = live_models
    srv = Server(live_models[0], tmp_path)
    try:
        for mode, n, seed in (("remote", 1200, 87), ("per-row", 150, 88)):
            s = live_settings(live_models, server_url=srv.base)
            topic = f"{topic_name}.{mode}"
            records, valid, bad = stream_records(s, topic, n, seed=seed)
            os.environ[s.serving.auth_token_env] = TOKEN
            try:
                stats = run_classify(
                    s, mode=mode, until_idle=True, spark=spark, topic=topic, checkpoint=tmp_path / f"ckpt-{mode}"
                )
            finally:
                del os.environ[s.serving.auth_token_env]
            assert stats.messages == n and stats.dead_letters == bad and stats.versions == {v1.version}
            ids = list(valid)
            p_ai = reference_p_ai(s, v1.version, [valid[i] for i in ids])
            assert set(ai_rows(s, set(ids))) == {i for i, p in zip(ids, p_ai, strict=True) if p >= 0.5}
            assert predictions_for(s, set(ids)) == records
        # the server saw the texts: remote in batches, per-row one request per tweet
        m = httpx.get(f"{srv.base}/metrics").text
        assert "streamsift_serve_texts_total" in m
    finally:
        srv.stop()


def test_a_promotion_mid_stream_is_picked_up_between_micro_batches(live_models, spark, topic_name, tmp_path):
    import threading
    import time

    import orjson

    from streamsift.infra.kafka import KafkaBroker
    from streamsift.ingest.producer import produce
    from streamsift.models.registry import promote
    from streamsift.records import parse_payload
    from tests.integration.helpers import synthetic_payloads

    s = live_settings(live_models, max_offsets_per_trigger=300, trigger_interval="500 milliseconds")
    _s, v1, v2 = live_models
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic_name])
    items = [it for it in synthetic_payloads(3000, seed=89) if it.kind != "malformed"]
    records = Counter(parse_payload(it.record.payload)[0].tweet_id for it in items)
    result: dict = {}
    t = threading.Thread(
        target=lambda: result.setdefault(
            "stats", run_classify(s, spark=spark, topic=topic_name, checkpoint=tmp_path / "ckpt", timeout_s=300)
        )
    )
    t.start()
    try:
        produce((it.record for it in items[:1500]), s.kafka, s.producer, topic=topic_name)
        time.sleep(6)
        promote(s, v2.version)
        time.sleep(6)
        produce((it.record for it in items[1500:]), s.kafka, s.producer, topic=topic_name)
        deadline = time.monotonic() + 120
        while sum(predictions_for(s, set(records)).values()) < len(items):
            assert time.monotonic() < deadline and t.is_alive(), "not every record was classified"
            time.sleep(1)
    finally:
        _stop_query(spark, "classify_local")
        t.join(60)
        promote(s, v1.version)
    assert predictions_for(s, set(records)) == records  # nothing lost, nothing doubled
    msgs = [orjson.loads(m.value()) for m in read_topic(s, s.kafka.topic_predictions) if int(m.key()) in records]
    assert {m["model_version"] for m in msgs} == {v1.version, v2.version}
    assert result["stats"].versions == {v1.version, v2.version}
    # one micro-batch, one version: the predicted_at stamps of a version never interleave with the other's
    by_time = sorted((m["predicted_at"], m["model_version"]) for m in msgs)
    flips = sum(1 for a, b in itertools.pairwise(by_time) if a[1] != b[1])
    assert flips == 1


def test_kill_9_of_the_spark_job_then_restart_loses_nothing(live_models, topic_name, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.integration.helpers import settings_env

    s = live_settings(live_models, max_offsets_per_trigger=400)
    _s, v1, _v2 = live_models
    records, valid, _bad = stream_records(s, topic_name, 6000, seed=90)
    env = settings_env(s)
    env.update(
        {
            "STREAMSIFT_MODEL__NAME": s.model.name,
            "STREAMSIFT_MODEL__MODELS_DIR": str(s.model.models_dir),
            "STREAMSIFT_KAFKA__TOPIC_RAW": topic_name,
            "STREAMSIFT_CLASSIFY__MAX_OFFSETS_PER_TRIGGER": "400",
        }
    )

    def start(until_idle: bool) -> subprocess.Popen:
        args = [sys.executable, "-m", "streamsift.cli", "classify"] + (["--until-idle"] if until_idle else [])
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    first = start(until_idle=False)
    ids = set(valid)
    deadline = time.monotonic() + 180
    while sum(predictions_for(s, ids).values()) < 800:  # a few micro-batches are done
        assert first.poll() is None and time.monotonic() < deadline, first.stdout.read().decode()[-3000:]
        time.sleep(0.5)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)
    second = start(until_idle=True)
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, out.decode()[-3000:]
    p_ai = reference_p_ai(s, v1.version, [valid[i] for i in valid])
    assert set(ai_rows(s, ids)) == {i for i, p in zip(valid, p_ai, strict=True) if p >= 0.5}
    got = predictions_for(s, ids)
    assert set(got) == set(records) and all(got[k] >= records[k] for k in records)  # at least once
