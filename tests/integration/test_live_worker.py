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
from confluent_kafka import Consumer, TopicPartition

from streamsift.infra.kafka import KafkaBroker
from streamsift.ingest.producer import produce
from streamsift.live.worker import run_worker
from streamsift.models.predict import OnnxClassifier
from streamsift.models.registry import promote
from streamsift.records import MalformedRecord, parse_payload
from streamsift.store.connection import connect
from tests.integration.helpers import settings_env, synthetic_payloads, train_two_versions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def models(infra_settings, tmp_path_factory):
    return train_two_versions(infra_settings, tmp_path_factory.mktemp("models"), prefix="live", seed=81)


def _settings(models, **classify):
    s = models[0]
    cs = s.classify.model_copy(update={"group_id": f"g-{uuid.uuid4().hex[:8]}", "batch_size": 500, **classify})
    return s.model_copy(update={"classify": cs})


def _stream(s, topic: str, n: int, seed: int):
    """Produce ``n`` synthetic records into ``topic``; returns the valid records' tweet ids (a Counter: the
    stream repeats some tweets), {tweet_id: text}, and how many records are not tweets."""
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic])
    items = synthetic_payloads(n, seed)
    records, valid, bad = Counter(), {}, 0
    for it in items:
        try:
            t, _ = parse_payload(it.record.payload)
            valid[t.tweet_id] = t.text
            records[t.tweet_id] += 1
        except MalformedRecord:
            bad += 1
    produce((it.record for it in items), s.kafka, s.producer, topic=topic)
    return records, valid, bad


def _reference(s, version: int, texts: list[str]):
    path = s.model.models_dir.expanduser().resolve() / s.model.name / str(version)
    return OnnxClassifier(path, ["not_ai", "ai"]).predict_proba(texts)[:, 1]


def _read_topic(s, topic: str, *, want_at_least: int = 0, seconds: float = 30) -> list:
    """Every committed message of ``topic`` (read_committed), from the start."""
    c = Consumer(
        {
            "bootstrap.servers": s.kafka.bootstrap,
            "group.id": f"r-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    meta = c.list_topics(topic, timeout=10).topics[topic]
    parts = [TopicPartition(topic, p, 0) for p in meta.partitions]
    c.assign(parts)
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in meta.partitions}
    out, deadline = [], time.monotonic() + seconds
    done = dict.fromkeys(ends, False)
    while time.monotonic() < deadline and not (all(done.values()) and len(out) >= want_at_least):
        for m in c.consume(1000, timeout=0.5):
            if m.error() is None:
                out.append(m)
                if m.offset() + 1 >= ends[m.partition()]:
                    done[m.partition()] = True
        for p, e in ends.items():
            if e == 0 or (c.position([TopicPartition(topic, p)])[0].offset >= e):
                done[p] = True
    c.close()
    return out


def _predictions_for(s, ids: set[int]) -> Counter:
    msgs = _read_topic(s, s.kafka.topic_predictions)
    return Counter(int(m.key()) for m in msgs if int(m.key()) in ids)


def _ai_rows(s, ids: set[int]) -> dict[int, tuple]:
    with connect(s.postgres) as conn:
        rows = conn.execute(
            "SELECT tweet_id, probability, model_version, has_links, label FROM ai_tweets WHERE tweet_id = ANY(%s)",
            (list(ids),),
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_worker_stores_the_ai_tweets_every_prediction_and_the_dead_letters(models, topic_name):
    s = _settings(models)
    _s, v1, _v2 = models
    records, valid, bad = _stream(s, topic_name, 1500, seed=82)
    stats = run_worker(s, until_idle=True, topic=topic_name)
    assert stats.messages == 1500 and stats.dead_letters == bad and stats.versions == {v1.version}
    ids = list(valid)
    p_ai = _reference(s, v1.version, [valid[i] for i in ids])
    want_ai = {i for i, p in zip(ids, p_ai, strict=True) if p >= 0.5}
    assert 0 < len(want_ai) < len(ids)
    rows = _ai_rows(s, set(ids))
    assert set(rows) == want_ai
    assert all(r[1] == v1.version and r[3] == "ai" for r in rows.values())
    assert _predictions_for(s, set(ids)) == records  # one per record: nothing lost, nothing doubled
    dead = [
        m
        for m in _read_topic(s, s.kafka.topic_deadletter)
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
    again = run_worker(_settings(models), until_idle=True, topic=topic_name)
    assert again.messages == 1500
    assert _ai_rows(s, set(ids)) == rows


def test_a_promotion_mid_stream_switches_versions_with_nothing_lost_or_doubled(models, topic_name):
    s = _settings(models, batch_size=200)
    _s, v1, v2 = models
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
        while sum(_predictions_for(s, ids).values()) < len(items):
            assert time.monotonic() < deadline, "not every tweet was classified"
            time.sleep(1)
    finally:
        stop.set()
        t.join(60)
        promote(s, v1.version)
    assert _predictions_for(s, ids) == records
    msgs = [orjson.loads(m.value()) for m in _read_topic(s, s.kafka.topic_predictions) if int(m.key()) in ids]
    seen_versions = Counter(m["model_version"] for m in msgs)
    assert set(seen_versions) == {v1.version, v2.version}
    assert result["stats"].versions == {v1.version, v2.version}


def _worker_proc(s, topic: str, worker_id: str, tmp_path) -> subprocess.Popen:
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
        [sys.executable, "-m", "streamsift.cli", "worker", "--worker-id", worker_id],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_two_workers_share_partitions_and_a_killed_one_loses_and_doubles_nothing(models, topic_name, tmp_path):
    s = _settings(models, batch_size=300)
    records, _valid, _bad = _stream(s, topic_name, 100, seed=84)  # creates the topic (3 partitions)
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
        while sum(_predictions_for(s, ids).values()) < sum(records.values()):
            assert a.poll() is None and b2.poll() is None, "a worker died"
            assert time.monotonic() < deadline, "not every tweet was classified"
            time.sleep(1)
        assert _predictions_for(s, ids) == records
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
