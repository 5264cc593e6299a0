"""What the live-classification tests share: a trained model pair, a stream of known records, readers."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

from confluent_kafka import Consumer, TopicPartition

from streamsift.infra.kafka import KafkaBroker
from streamsift.ingest.producer import produce
from streamsift.models.predict import OnnxClassifier
from streamsift.records import MalformedRecord, parse_payload
from streamsift.store.connection import connect
from tests.integration.helpers import synthetic_payloads


def tap_until(source, want_keys: set[bytes], want_broken: int, stop: threading.Event):
    """Yield a source's records; set ``stop`` once every wanted key and ``want_broken`` records
    without a key (frames the source could not parse) have come by."""
    seen, broken = set(), 0
    for rec in source:
        if rec.key is None:
            broken += 1
        else:
            seen.add(rec.key)
        yield rec
        if want_keys <= seen and broken >= want_broken:
            stop.set()


def live_settings(models, **classify):
    s = models[0]
    cs = s.classify.model_copy(update={"group_id": f"g-{uuid.uuid4().hex[:8]}", "batch_size": 500, **classify})
    return s.model_copy(update={"classify": cs})


def stream_records(s, topic: str, n: int, seed: int):
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


def reference_p_ai(s, version: int, texts: list[str]):
    path = s.model.models_dir.expanduser().resolve() / s.model.name / str(version)
    return OnnxClassifier(path, ["not_ai", "ai"]).predict_proba(texts)[:, 1]


def read_topic(s, topic: str, *, want_at_least: int = 0, seconds: float = 30) -> list:
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


def predictions_for(s, ids: set[int]) -> Counter:
    msgs = read_topic(s, s.kafka.topic_predictions)
    return Counter(int(m.key()) for m in msgs if int(m.key()) in ids)


def ai_rows(s, ids: set[int]) -> dict[int, tuple]:
    with connect(s.postgres) as conn:
        rows = conn.execute(
            "SELECT tweet_id, probability, model_version, has_links, label FROM ai_tweets WHERE tweet_id = ANY(%s)",
            (list(ids),),
        ).fetchall()
    return {r[0]: r[1:] for r in rows}
