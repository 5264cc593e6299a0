from collections import Counter

from streamsift.records import MalformedRecord, parse_payload
from streamsift.sources.synthetic import SyntheticSource, generate


def test_deterministic_for_a_seed():
    a = [i.record.payload for i in generate(500, seed=5)]
    b = [i.record.payload for i in generate(500, seed=5)]
    c = [i.record.payload for i in generate(500, seed=6)]
    assert a == b and a != c


def test_mix_is_realistic_and_labels_are_true():
    items = list(generate(5000, seed=1))
    kinds = Counter(i.kind for i in items)
    assert {"tweet", "duplicate", "near_duplicate", "malformed"} <= set(kinds)
    assert 0.005 < kinds["malformed"] / 5000 < 0.02
    tweets = [parse_payload(i.record.payload)[0] for i in items if i.kind != "malformed"]
    assert any(t.is_retweet for t in tweets) and any(t.is_quote for t in tweets)
    assert any(t.source_format == "v2" for t in tweets)
    assert any(t.lang not in (None, "en") for t in tweets)
    assert any(t.urls for t in tweets) and any(t.hashtags for t in tweets) and any(t.mentions for t in tweets)
    assert any(len(t.text) > 140 for t in tweets)
    assert sum(i.topic == "ai" for i in items) > 500
    for i in items:
        if i.kind == "malformed":
            try:
                parse_payload(i.record.payload)
            except MalformedRecord:
                continue
            raise AssertionError(f"malformed record parsed: {i.record.payload[:80]!r}")


def test_duplicates_repeat_an_earlier_id_and_keys_match():
    items = list(generate(3000, seed=2))
    seen = set()
    for i in items:
        if i.kind == "duplicate":
            assert i.tweet_id in seen
        if i.tweet_id is not None:
            assert i.record.key == str(i.tweet_id).encode()
            seen.add(i.tweet_id)


def test_source_yields_count():
    src = SyntheticSource(123, seed=0)
    assert src.total == 123 and len(list(src)) == 123
