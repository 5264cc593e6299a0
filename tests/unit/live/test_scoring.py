"""score_messages and what the live sinks derive from it: pure logic, a rule-based runtime."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from streamsift.ingest.sink import KafkaMessage
from streamsift.live.scoring import batch_key, score_messages
from streamsift.live.store import AI_COLUMNS, _term_counts

AI_DAY = AI_COLUMNS.index("predicted_at")


class KeywordRuntime:
    """P(ai) = 0.95 when the text says "model", else 0.05 (the seam's contract, no model file)."""

    name, version, classes = "kw", 3, ["not_ai", "ai"]

    def load(self) -> None:
        pass

    def predict(self, texts: list[str]) -> np.ndarray:
        p = np.array([0.95 if "model" in t else 0.05 for t in texts], dtype=np.float32)
        return np.stack([1 - p, p], axis=1)


def _tweet(i: int, text: str, *, tags=(), urls=()) -> bytes:
    return json.dumps(
        {
            "id_str": str(i),
            "text": text,
            "created_at": "Sun Apr 05 10:46:44 +0000 2020",
            "user": {"id_str": "7", "screen_name": "someone"},
            "entities": {
                "hashtags": [{"text": t} for t in tags],
                "urls": [{"url": f"https://t.co/{k}", "expanded_url": u} for k, u in enumerate(urls)],
            },
        }
    ).encode()


def _msgs(payloads: list[bytes], partition: int = 0, first: int = 10) -> list[KafkaMessage]:
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    return [KafkaMessage(p, "tweets.raw", partition, first + k, ts) for k, p in enumerate(payloads)]


def test_batch_outputs_histogram_and_dead_letters():
    msgs = _msgs(
        [
            _tweet(1, "a new model #AI #ai #NLP", tags=("AI", "ai", "NLP"), urls=("https://www.arxiv.org/abs/1",)),
            _tweet(2, "lunch"),
            b"not json",
            _tweet(3, "model cards", urls=("https://arxiv.org/abs/2", "https://blog.example.com/x")),
        ]
    )
    out = score_messages(KeywordRuntime(), msgs, positive_class="ai", threshold=0.5, source="worker")
    assert out.scored == 3 and len(out.dead) == 1 and out.dead[0][0].offset == 12
    assert [r[0] for r in out.ai_rows] == [1, 3]
    assert out.ai_rows[0][AI_COLUMNS.index("hashtags")] == ["ai", "nlp"]  # lower-cased, each once
    assert sum(out.histogram) == 3 and out.histogram[9] == 2 and out.histogram[0] == 1
    assert out.batch_key == "worker|tweets.raw:0:10"
    assert [json.loads(v)["label"] for _k, v in out.predictions] == ["ai", "not_ai", "ai"]


def test_batch_key_is_the_first_offset_of_each_partition_in_any_order():
    a = _msgs([_tweet(1, "x"), _tweet(2, "y")], partition=2, first=50)
    b = _msgs([_tweet(3, "z")], partition=0, first=7)
    assert batch_key("spark-local", b + a) == batch_key("spark-local", list(reversed(a + b)))
    assert batch_key("spark-local", a + b) == "spark-local|tweets.raw:0:7,tweets.raw:2:50"


def test_terms_count_only_newly_stored_tweets_and_each_domain_once_per_tweet():
    msgs = _msgs(
        [
            _tweet(1, "model #AI", tags=("AI",), urls=("https://arxiv.org/abs/1", "https://arxiv.org/abs/9")),
            _tweet(3, "model #AI", tags=("AI",), urls=("https://github.com/x",)),
        ]
    )
    out = score_messages(KeywordRuntime(), msgs, positive_class="ai", threshold=0.5, source="worker")
    day = out.ai_rows[0][AI_DAY].date()
    assert _term_counts(out, {1, 3}) == {
        (day, "hashtag", "ai"): 2,
        (day, "domain", "arxiv.org"): 1,
        (day, "domain", "github.com"): 1,
    }
    assert _term_counts(out, {3}) == {(day, "hashtag", "ai"): 1, (day, "domain", "github.com"): 1}
    assert _term_counts(out, set()) == {}
