"""Bluesky Jetstream → Kafka → the worker and the ingest job, against a local Jetstream that drops
its connection mid-stream: no post lost, nothing doubled downstream, broken frames in the dead letters."""

from __future__ import annotations

import os
import threading
from collections import Counter

import orjson
import pytest

from streamsift.config import load_settings
from streamsift.infra.kafka import KafkaBroker
from streamsift.ingest.producer import produce
from streamsift.ingest.spark_job import run_ingest
from streamsift.live.worker import run_worker
from streamsift.records import platform_id
from streamsift.sources.bluesky import JetstreamSource
from streamsift.store.connection import connect
from tests.integration.live_support import live_settings, read_topic, tap_until
from tests.support.fake_jetstream import FakeJetstream, firehose

pytestmark = pytest.mark.integration


def _expected(frames, posts):
    english = {uri: ev for uri, ev in posts.items() if ev["commit"]["record"]["langs"] == ["en"]}
    keys = {str(platform_id("bluesky", uri)).encode() for uri in english}
    broken = sum(1 for f in frames if not f.text.endswith("}"))
    return english, keys, broken


def test_jetstream_across_a_dropped_connection_loses_nothing_and_doubles_nothing(
    live_models, spark, topic_name, tmp_path
):
    s = live_settings(live_models)
    bs = s.bluesky.model_copy(update={"languages": ["en"], "cursor_overlap_s": 0.002, "fallback_urls": []})
    frames, posts = firehose(300)
    english, keys, n_broken = _expected(frames, posts)
    assert 200 < len(english) < 300 and n_broken >= 4
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic_name])
    server = FakeJetstream(frames, drop_after=150).start()
    stop = threading.Event()
    src = JetstreamSource(bs, tmp_path, urls=[server.url], stop=stop, recv_timeout_s=0.2)
    try:
        with src:
            produce(tap_until(src, keys, n_broken, stop), s.kafka, s.producer, topic=topic_name)
    finally:
        server.stop()

    # The dropped connection was resumed from a cursor, not from the live tail.
    assert len(server.connections) >= 2 and "cursor" in server.connections[1]
    assert server.connections[0]["wantedCollections"] == ["app.bsky.feed.post"]
    assert src.stats.reconnects >= 1
    assert src.stats.skipped.get("delete app.bsky.feed.post", 0) > 0 and src.stats.skipped.get("identity", 0) > 0
    assert src.stats.filtered > 0  # the German posts

    msgs = read_topic(s, topic_name)
    by_key = Counter(m.key() for m in msgs)
    assert set(by_key) - {None} == keys  # every English post, and nothing else
    assert sum(1 for m in msgs if m.key() is None) >= n_broken
    for m in msgs:
        if m.key() is not None:
            ev = orjson.loads(m.value())
            assert ev["commit"]["operation"] == "create" and ev["commit"]["record"]["langs"] == ["en"]
    last_post = max(ev["time_us"] for ev in english.values())
    assert src.cursor.path.parent == tmp_path / "bluesky"
    assert int(src.cursor.path.read_text()) >= last_post

    # The worker: one AI-or-not decision per post, broken frames in tweets.deadletter with the reason.
    stats = run_worker(s, until_idle=True, topic=topic_name)
    assert stats.messages == len(msgs) and stats.dead_letters == sum(1 for m in msgs if m.key() is None)
    dead = [
        m
        for m in read_topic(s, s.kafka.topic_deadletter)
        if dict(m.headers() or [])["source.topic"] == topic_name.encode()
    ]
    assert len(dead) == stats.dead_letters
    assert all(b"invalid JSON" in dict(m.headers())["reason"] for m in dead)
    with connect(s.postgres) as conn:
        rows = conn.execute(
            "SELECT tweet_id, platform, post_uri, post_cid FROM ai_tweets WHERE tweet_id = ANY(%s)",
            ([int(k) for k in keys],),
        ).fetchall()
    assert rows, "the model found no AI post among 'post N about machine learning and data'"
    for tweet_id, platform, uri, cid in rows:
        assert platform == "bluesky" and uri in english and tweet_id == platform_id("bluesky", uri)
        assert cid == english[uri]["commit"]["cid"]

    # The ingest job: each post once in the raw table, whatever was read twice.
    table = f"raw_bluesky_{topic_name[5:]}"
    d = run_ingest(s, until_idle=True, spark=spark, topic=topic_name, table=table).to_dict()
    assert d["inserted"] == len(english) and d["dead_letters"] == stats.dead_letters
    with connect(s.postgres) as conn:
        got = dict(conn.execute(f"SELECT post_uri, platform FROM {table}").fetchall())
        links = conn.execute(
            "SELECT count(*) FROM tweet_urls WHERE tweet_id = ANY(%s)", ([int(k) for k in keys],)
        ).fetchone()[0]
    assert set(got) == set(english) and set(got.values()) == {"bluesky"}
    assert links == sum(1 for ev in english.values() if "facets" in ev["commit"]["record"])


def test_a_restarted_source_resumes_from_its_cursor(infra_settings, topic_name, tmp_path):
    s = infra_settings
    bs = s.bluesky.model_copy(update={"cursor_overlap_s": 0.0005, "fallback_urls": []})
    frames, posts = firehose(120)
    keys = {str(platform_id("bluesky", uri)).encode() for uri in posts}
    ordered = [
        f for f in frames if f.text.endswith("}") and '"operation":"create","collection":"app.bsky.feed.post"' in f.text
    ]
    first_half = {str(platform_id("bluesky", uri)).encode() for uri in list(posts)[:60]}
    KafkaBroker(s.kafka, s.state.root).ensure_topics([topic_name])
    server = FakeJetstream(frames).start()
    try:
        stop = threading.Event()
        with JetstreamSource(bs, tmp_path, urls=[server.url], stop=stop, recv_timeout_s=0.2) as src:
            produce(tap_until(src, first_half, 0, stop), s.kafka, s.producer, topic=topic_name)
        saved = int(src.cursor.path.read_text())
        assert saved >= ordered[59].time_us
        stop = threading.Event()
        with JetstreamSource(bs, tmp_path, urls=[server.url], stop=stop, recv_timeout_s=0.2) as src:
            produce(tap_until(src, keys - first_half, 0, stop), s.kafka, s.producer, topic=topic_name)
    finally:
        server.stop()
    assert server.connections[1]["cursor"] == [str(saved - 500)]
    assert server.connections[0]["maxMessageSizeBytes"] == [str(2**22)]
    got = {m.key() for m in read_topic(s, topic_name)} - {None}
    assert got == keys


def test_compressed_frames_when_asked(tmp_path):
    """bluesky.compress negotiates permessage-deflate (what Jetstream v2 offers); frames arrive the same."""
    frames, posts = firehose(30)
    server = FakeJetstream(frames).start()
    try:
        for compress in (True, False):
            bs = load_settings(os.devnull, bluesky={"compress": compress, "fallback_urls": []}).bluesky
            stop = threading.Event()
            with JetstreamSource(bs, tmp_path / str(compress), urls=[server.url], stop=stop, recv_timeout_s=0.2) as src:
                got, negotiated = [], []
                for rec in src:
                    if rec.key is not None:
                        got.append(rec.key)
                    negotiated.append(src.compressed)
                    if len(got) == len(posts):
                        stop.set()
            assert set(got) == {str(platform_id("bluesky", uri)).encode() for uri in posts}
            assert set(negotiated) == {compress}
    finally:
        server.stop()
