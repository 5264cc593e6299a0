"""Kafka messages → parsed tweets → one model call → what the live sinks write. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from streamsift.ingest.sink import KafkaMessage
from streamsift.records import MalformedRecord, parse_payload
from streamsift.serving.runtime import ModelRuntime, classify_batch

STAGE = "classify"
HIST_BUCKETS = 10


def batch_key(source: str, messages: list[KafkaMessage]) -> str:
    """``source|topic:partition:first_offset,...`` over the partitions of ``messages`` (sorted)."""
    first: dict[tuple[str, int], int] = {}
    for m in messages:
        k = (m.topic, m.partition)
        if k not in first or m.offset < first[k]:
            first[k] = m.offset
    return source + "|" + ",".join(f"{t}:{p}:{o}" for (t, p), o in sorted(first.items()))


@dataclass
class ScoredBatch:
    """One batch, scored by one model version."""

    model_version: int
    #: (key, value) of every prediction, for ``tweets.predictions``
    predictions: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: rows for ``ai_tweets`` (see ``store.AI_COLUMNS``)
    ai_rows: list[tuple[Any, ...]] = field(default_factory=list)
    #: (tweet_id, url, expanded_url, domain) of the AI tweets' links
    urls: list[tuple[int, str, str, str]] = field(default_factory=list)
    #: (message, reason) of records that are not tweets
    dead: list[tuple[KafkaMessage, str]] = field(default_factory=list)
    scored: int = 0
    #: who scored it (worker, spark-local, ...) and which Kafka records: ``topic:partition:first offset``
    #: of each partition in the batch — a replayed batch has the same key, so its statistics count once
    source: str = ""
    batch_key: str = ""
    #: P(positive class) of every scored tweet in ten buckets of 0.1, for the dashboard's histogram
    histogram: list[int] = field(default_factory=lambda: [0] * HIST_BUCKETS)


def dead_letter_headers(m: KafkaMessage, reason: str) -> list[tuple[str, bytes]]:
    """The Kafka headers of a dead letter on ``tweets.deadletter``: why, which stage, where it came from."""
    return [
        ("reason", reason.encode()),
        ("stage", STAGE.encode()),
        ("source.topic", m.topic.encode()),
        ("source.partition", str(m.partition).encode()),
        ("source.offset", str(m.offset).encode()),
    ]


def positive_index(classes: list[str], positive: str) -> int:
    if positive not in classes:
        raise ValueError(f"classify.positive_class {positive!r} is not one of the model's classes {classes}")
    return classes.index(positive)


def score_messages(
    runtime: ModelRuntime,
    messages: list[KafkaMessage],
    *,
    positive_class: str,
    threshold: float,
    source: str,
    max_chars: int = 2000,
) -> ScoredBatch:
    """Parse, classify (one call), and build every output row of a batch."""
    out = ScoredBatch(model_version=runtime.version, source=source, batch_key=batch_key(source, messages))
    tweets, stamps = [], []
    for m in messages:
        try:
            t, _raw = parse_payload(m.value)
        except MalformedRecord as exc:
            out.dead.append((m, str(exc)))
            continue
        tweets.append(t)
        stamps.append(m.timestamp)
    if not tweets:
        return out
    probs = classify_batch(runtime, [t.text[:max_chars] for t in tweets])
    classes = list(runtime.classes)
    pos = positive_index(classes, positive_class)
    now = datetime.now(UTC)
    now_s = now.isoformat()
    labels = probs.argmax(axis=1)
    p_pos = probs[:, pos]
    out.histogram = np.bincount(
        np.minimum((p_pos * HIST_BUCKETS).astype(np.int64), HIST_BUCKETS - 1), minlength=HIST_BUCKETS
    ).tolist()
    rows = probs.tolist()
    name = runtime.name
    for i, t in enumerate(tweets):
        label = classes[int(labels[i])]
        out.predictions.append(
            (
                str(t.tweet_id).encode(),
                orjson.dumps(
                    {
                        "tweet_id": t.tweet_id,
                        "label": label,
                        "probabilities": dict(zip(classes, rows[i], strict=True)),
                        "model": name,
                        "model_version": runtime.version,
                        "predicted_at": now_s,
                        "source": source,
                    }
                ),
            )
        )
    for i in np.flatnonzero(p_pos >= threshold).tolist():
        t = tweets[i]
        out.ai_rows.append(
            (
                t.tweet_id,
                t.text,
                t.user_screen_name,
                t.user_id,
                t.created_at,
                float(p_pos[i]),
                classes[int(labels[i])],
                runtime.version,
                bool(t.urls),
                t.is_retweet,
                t.retweeted_id,
                now,
                stamps[i],
                list(dict.fromkeys(h.lower() for h in t.hashtags)),
                t.platform,
                t.post_uri,
                t.post_cid,
            )
        )
        out.urls.extend((t.tweet_id, u.url, u.expanded_url, u.domain) for u in t.urls)
    out.scored = len(tweets)
    return out


__all__ = [
    "HIST_BUCKETS",
    "STAGE",
    "ScoredBatch",
    "batch_key",
    "dead_letter_headers",
    "positive_index",
    "score_messages",
]
