"""``streamsift worker``: live classification as a Kafka consumer group, on the real broker and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import orjson
import pytest

from streamsift.infra.kafka import KafkaBroker
from streamsift.ingest.producer import produce
from streamsift.live.worker import run_worker
from streamsift.models.registry import promote
from streamsift.records import parse_payload
from streamsift.store.connection import connect
from tests.integration.helpers import settings_env, synthetic_payloads
from tests.integration.live_support import (
    ai_rows,
    live_settings,
    predictions_for,
    read_topic,
    reference_p_ai,
    stream_records,
)

pytestmark = pytest.mark.integration


def test_worker_stores_the_ai_tweets_every_prediction_and_the_dead_letters(live_models, topic_name):
    s = live_settings(live_models)
    _s, v1, _v2 = live_models
    records, valid, bad = stream_records(s, topic_name, 1500, seed=82)
    stats = run_worker(s, until_idle=True, topic=topic_name)
    assert stats.messages == 1500 and stats.dead_letters == bad and stats.versions == {v1.version}
    ids = list(valid)
    p_ai = reference_p_ai(s, v1.version, [valid[i] for i in ids])
    want_ai = {i for i, p in zip(ids, p_ai, strict=True) if p >= 0.5}
    assert 0 < len(want_ai) < len(ids)
    rows = ai_rows(s, set(ids))
    assert set(rows) == want_ai
    assert all(r[1] == v1.version and r[3] == "ai" for r in rows.values())
    assert predictions_for(s, set(ids)) == records  # one per record: nothing lost, nothing doubled
    dead = [
        m
        for m in read_topic(s, s.kafka.topic_deadletter)
        if dict(m.headers() or [])["source.topic"] == topic_name.encode()
    ]
    assert len(dead) == bad and all(dict(m.headers())["reason"] for m in dead)
    with connect(s.postgres) as conn:
        linked = conn.execute(
            "SELECT count(DISTINCT tweet_id) FROM tweet_urls WHERE tweet_id = ANY(%s)",
            ([i for i in want_ai if rows[i][2]],),
        ).fetchone()[0]
    assert linked == sum(1 for i in want_ai if rows[i][2])
    # a second run of the group finds nothing new; a replay by a new group changes nothing in the table
    again = run_worker(live_settings(live_models), until_idle=True, topic=topic_name)
    assert again.messages == 1500
    assert ai_rows(s, set(ids)) == rows


def test_a_promotion_mid_stream_switches_versions_with_nothing_lost_or_doubled(live_models, topic_name):
    s = live_settings(live_models, batch_size=200)
    _s, v1, v2 = live_models
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic_name])
    items = [it for it in synthetic_payloads(4000, seed=83) if it.kind != "malformed"]
    stop = threading.Event()
    seen_versions: list[int] = []
    result = {}

    def work():
        result["stats"] = run_worker(s, stop=stop, topic=topic_name, on_batch=lambda n: None)

    t = threading.Thread(target=work)
    t.start()
    try:
        produce((it.record for it in items[:2000]), s.kafka, s.producer, topic=topic_name)
        time.sleep(3)
        promote(s, v2.version)
        time.sleep(4)  # the event is consumed, v2 loaded and swapped in
        produce((it.record for it in items[2000:]), s.kafka, s.producer, topic=topic_name)
        records = Counter(parse_payload(it.record.payload)[0].tweet_id for it in items)
        ids = set(records)
        deadline = time.monotonic() + 90
        while sum(predictions_for(s, ids).values()) < len(items):
            assert time.monotonic() < deadline, "not every tweet was classified"
            time.sleep(1)
    finally:
        stop.set()
        t.join(60)
        promote(s, v1.version)
    assert predictions_for(s, ids) == records
    msgs = [orjson.loads(m.value()) for m in read_topic(s, s.kafka.topic_predictions) if int(m.key()) in ids]
    seen_versions = Counter(m["model_version"] for m in msgs)
    assert set(seen_versions) == {v1.version, v2.version}
    assert result["stats"].versions == {v1.version, v2.version}


def _worker_proc(s, topic: str, worker_id: str, tmp_path, *args: str) -> subprocess.Popen:
    env = settings_env(s)
    env.update(
        {
            "STREAMSIFT_MODEL__NAME": s.model.name,
            "STREAMSIFT_MODEL__MODELS_DIR": str(s.model.models_dir),
            "STREAMSIFT_KAFKA__TOPIC_RAW": topic,
            "STREAMSIFT_CLASSIFY__GROUP_ID": s.classify.group_id,
            "STREAMSIFT_CLASSIFY__BATCH_SIZE": str(s.classify.batch_size),
        }
    )
    out = (tmp_path / f"worker-{worker_id}-{uuid.uuid4().hex[:4]}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "streamsift.cli", "worker", "--worker-id", worker_id, *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_two_workers_share_partitions_and_a_killed_one_loses_and_doubles_nothing(live_models, topic_name, tmp_path):
    s = live_settings(live_models, batch_size=300)
    records, _valid, _bad = stream_records(s, topic_name, 100, seed=84)  # creates the topic (3 partitions)
    a = _worker_proc(s, topic_name, "a", tmp_path)
    b = _worker_proc(s, topic_name, "b", tmp_path)
    procs = [a, b]
    try:
        items = [it for it in synthetic_payloads(12000, seed=85) if it.kind != "malformed"]
        records.update(parse_payload(it.record.payload)[0].tweet_id for it in items)
        feeder = threading.Thread(
            target=produce,
            args=((it.record for it in items), s.kafka, s.producer),
            kwargs={"topic": topic_name, "rate": 1500},
        )
        feeder.start()
        time.sleep(4)
        os.killpg(b.pid, signal.SIGKILL)  # mid-stream, maybe mid-transaction
        b.wait(10)
        time.sleep(3)
        procs.append(b2 := _worker_proc(s, topic_name, "b", tmp_path))  # same id: fences the dead one
        feeder.join(120)
        ids = set(records)
        deadline = time.monotonic() + 120
        while sum(predictions_for(s, ids).values()) < sum(records.values()):
            assert a.poll() is None and b2.poll() is None, "a worker died"
            assert time.monotonic() < deadline, "not every tweet was classified"
            time.sleep(1)
        assert predictions_for(s, ids) == records
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    assert a.returncode == 0 and b2.returncode == 0  # SIGTERM: finish the batch, commit, exit cleanly


def test_two_until_idle_workers_both_exit_when_the_topic_is_drained(live_models, topic_name, tmp_path):
    """The first worker to finish leaves the group; the other takes its partitions over, already read to
    their end, and must still see that it is caught up (it waited for ever, before)."""
    s = live_settings(live_models, batch_size=200)
    records, _valid, _bad = stream_records(s, topic_name, 3000, seed=96)
    procs = [_worker_proc(s, topic_name, w, tmp_path, "--until-idle") for w in ("x", "y")]
    try:
        for p in procs:
            p.wait(120)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
    assert [p.returncode for p in procs] == [0, 0]
    assert predictions_for(s, set(records)) == records
