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
    out = ScoredBatch(model_version=runtime.version)
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
            )
        )
        out.urls.extend((t.tweet_id, u.url, u.expanded_url, u.domain) for u in t.urls)
    out.scored = len(tweets)
    return out


__all__ = ["STAGE", "ScoredBatch", "positive_index", "score_messages"]
