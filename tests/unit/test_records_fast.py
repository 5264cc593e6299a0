"""The v1.1 fast path gives exactly the reference normaliser's answer, or declines."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from streamsift.records import MalformedRecord, _parse_reference, extract_tweet_id, parse_payload
from streamsift.records.v1_fast import normalize_v1_fast
from streamsift.sources.synthetic import generate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _reference(payload: bytes):
    try:
        return _parse_reference(payload)[0]
    except MalformedRecord as exc:
        return f"malformed: {exc}"


def _check(payload: bytes) -> bool:
    """Fast and reference agree (field by field, so a failure names the field); True if fast took it."""
    try:
        fast = normalize_v1_fast(payload)
    except MalformedRecord as exc:
        fast = f"malformed: {exc}"
    if fast is None:
        return False
    ref = _reference(payload)
    if isinstance(ref, str) or isinstance(fast, str):
        assert fast == ref
    else:
        for name in ref.__slots__:
            assert getattr(fast, name) == getattr(ref, name), (name, payload[:200])
    return True


def _corpus_lines() -> list[bytes]:
    lines = []
    for name in ("tweets_v1.jsonl", "tweets_v2.jsonl", "replay_small.jsonl"):
        lines += [ln for ln in (FIXTURES / name).read_bytes().splitlines() if ln.strip()]
    return lines


def test_every_fixture_line_agrees():
    taken = sum(_check(ln) for ln in _corpus_lines())
    assert taken >= 10  # the fixtures' ordinary v1.1 statuses do take the fast path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_streams_agree_and_mostly_take_the_fast_path(seed: int):
    items = list(generate(3000, seed=seed, malformed_share=0.05, duplicate_share=0.02))
    taken = sum(_check(i.record.payload) for i in items)
    v1 = sum(1 for i in items if i.kind != "malformed" and b'"data"' not in i.record.payload[:12])
    assert taken >= 0.95 * v1


def _real_corpora() -> list:
    """Real tweets: ../shared/data on a development machine (never shipped), else the fixtures."""
    if SHARED.is_dir():
        files = ("tweets_v1_sample.jsonl", "golden_dev_tweets.jsonl", "real_stream_100k.jsonl")
        return [pytest.param([SHARED / f for f in files], 0.5, id="shared-data")]
    return [pytest.param([FIXTURES / "tweets_v1.jsonl", FIXTURES / "replay_small.jsonl"], 0.3, id="fixtures")]


@pytest.mark.parametrize(("paths", "min_share"), _real_corpora())
def test_real_tweets_agree(paths: list[Path], min_share: float):
    taken = total = 0
    for path in paths:
        for ln in path.read_bytes().splitlines()[:20_000]:
            if ln.strip():
                total += 1
                taken += _check(ln)
    assert total and taken > min_share * total


def _status(**fields) -> dict:
    base = {
        "created_at": "Sun Apr 05 10:46:44 +0000 2020",
        "id": 1246751119155449856,
        "id_str": "1246751119155449856",
        "text": "Deep learning &amp; you https://t.co/x",
        "lang": "en",
        "user": {"id": 5, "id_str": "5", "screen_name": "a", "name": "A", "followers_count": 0, "verified": False},
        "entities": {
            "hashtags": [{"text": "AI"}, {"text": ""}, {"tag": "ML"}],
            "urls": [{"url": "https://t.co/x", "expanded_url": "https://www.Example.org:443/a?b=c"}],
            "user_mentions": [{"screen_name": "b"}],
        },
    }
    base.update(fields)
    return base


EDGE_CASES = {
    "plain": _status(),
    "extended": _status(
        truncated=True, extended_tweet={"full_text": "long text #AI", "entities": {"hashtags": [{"text": "AI"}]}}
    ),
    "extended, blank full text": _status(extended_tweet={"full_text": "   ", "entities": {}}),
    "extended, null": _status(extended_tweet=None),
    "extended, not an object": _status(extended_tweet="x"),
    "retweet": _status(
        retweeted_status=_status(id_str="7", id=7, text="orig", user={"screen_name": "orig"}),
        text="RT @orig: orig",
    ),
    "retweet of a quote, plus a quote": _status(
        retweeted_status=_status(id_str="7", quoted_status=_status(id_str="8", text="inner https://t.co/q")),
        quoted_status=_status(id_str="9", text="outer"),
    ),
    "quote by id only": _status(is_quote_status=True, quoted_status_id_str="44"),
    "reply": _status(in_reply_to_status_id_str="", in_reply_to_status_id=12),
    "user not an object": _status(user="someone"),
    "user null": _status(user=None),
    "verified a string": _status(user={"id": 1, "verified": "true"}),
    "followers a float": _status(user={"id": 1, "followers_count": 1.5}),
    "followers negative": _status(user={"id": 1, "followers_count": -3}),
    "entities a list": _status(entities=[]),
    "hashtag not an object": _status(entities={"hashtags": ["AI"]}),
    "urls null": _status(entities={"urls": None}),
    "url without expanded": _status(entities={"urls": [{"url": "https://t.co/z"}]}),
    "url with unwound": _status(
        entities={"urls": [{"url": "u", "expanded_url": "https://a.b", "unwound_url": "https://c.d/x"}]}
    ),
    "id_str empty, id set": _status(id_str=""),
    "id_str not a number": _status(id_str="abc"),
    "id_str out of range": _status(id_str=str(2**63)),
    "id a float": _status(id_str=None, id=1.0),
    "blank text": _status(text="   "),
    "no text at all": {"id_str": "1"},
    "text null, full_text set": _status(text=None, full_text="full"),
    "text a number": _status(text=5),
    "lang a number": _status(lang=5),
    "created_at unreadable": _status(created_at="yesterday"),
    "created_at ISO": _status(created_at="2020-04-05T10:46:44Z"),
    "delete notice": {"delete": {"status": {"id": 1, "id_str": "1"}}},
    "notice with id": {"limit": {"track": 1}, "id_str": "3", "text": "x"},
    "v2 envelope": {"data": {"id": "5", "text": "v2"}, "includes": {}},
    "v2 bare": {"id": "5", "text": "v2", "author_id": "9", "edit_history_tweet_ids": ["5"]},
    "v1 with author_id": _status(author_id="9"),
    "errors beside a tweet": _status(errors=[{"title": "x"}]),
    "jetstream-like": {"kind": "commit", "did": "did:plc:x", "id_str": "1", "text": "x"},
    "mastodon-like": {"content": "<p>x</p>", "account": {}, "uri": "u", "id_str": "1", "text": "x"},
    "html escapes in quoted text": _status(quoted_status=_status(id_str="2", text="a &lt;b&gt; &amp; c")),
    "too long": _status(text="x" * 40_001),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_agree_or_decline(case: str):
    _check(orjson.dumps(EDGE_CASES[case]))


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id_str": "1", "text": "lone \\ud800"}',
        b'{"id_str": "1", "text": "pair \\ud83d\\ude00"}',
        b'{"id_str": "1", "text": "ok", "junk": "\\udc00"}',  # in a field the schema skips
        b'{"id_str": "1", "text": NaN}',
        b'{"id_str": "1", "text": "x"',
    ],
)
def test_surrogate_escapes_and_invalid_json_go_the_reference_way(payload: bytes):
    assert normalize_v1_fast(payload) is None
    try:
        _tweet, raw = parse_payload(payload)
    except MalformedRecord:
        return
    json.loads(raw)  # raw stays valid JSON
    assert b"\\ud800" not in raw and b"\\udc00" not in raw  # and castable to jsonb


def test_a_repeated_key_means_the_last_one_in_both_paths():
    assert _check(b'{"id_str": "1", "text": "x", "text": "y"}')


def test_invalid_utf8_in_a_skipped_field_is_a_dead_letter():
    payload = b'{"id_str": "1", "text": "ok", "user": {"description": "caf\xe9"}}'
    with pytest.raises(MalformedRecord, match="not UTF-8"):
        parse_payload(payload)


def test_nul_escape_keeps_raw_castable_to_jsonb():
    tweet, raw = parse_payload(b'{"id_str": "1", "text": "a\\u0000b"}')
    assert tweet.text == "ab" and b"\\u0000" not in raw and json.loads(raw)["text"] == "a\ufffdb"


def _reference_key(payload: bytes):
    import streamsift.records as records

    probe, records.v1_tweet_id = records.v1_tweet_id, lambda _p: records.DECLINED
    try:
        return records.extract_tweet_id(payload)
    finally:
        records.v1_tweet_id = probe


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_producer_keys_agree_with_the_reference(case: str):
    payload = orjson.dumps(EDGE_CASES[case])
    assert extract_tweet_id(payload) == _reference_key(payload)


def test_producer_keys_agree_on_every_fixture_line_and_synthetic_record():
    lines = _corpus_lines() + [i.record.payload for i in generate(2000, seed=4, malformed_share=0.05)]
    lines += [b"[1, 2]", b"not json", b'{"id": 1.5}', b'{"id": "12"}', b'{"id_str": "", "id": 7}', b"{}"]
    for ln in lines:
        try:
            orjson.loads(ln)
        except orjson.JSONDecodeError:  # broken payloads: see the next test
            continue
        assert extract_tweet_id(ln) == _reference_key(ln), ln[:120]


def test_a_payload_broken_past_its_ids_keeps_its_key():
    # the key is read from the payload's head; the record is a dead letter at ingest either way
    assert extract_tweet_id(b'{"id_str": "12", "text": "caf\xe9"}') == 12
    head = b'{"created_at": "Fri Apr 10 06:00:04 +0000 2020", "id": 125, "id_str": "125", "text": "cut'
    assert extract_tweet_id(head) == 125
    assert extract_tweet_id(b'{"created_at": "x", "id": 7, "id_str": "8"}') == 8  # id_str first, as ever
