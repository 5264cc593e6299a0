"""The canonical tweet record: normalising X API v1.1 and v2 JSON into :class:`Tweet`.

The hand-written fixtures in ``tests/fixtures/tweets_v1.jsonl`` / ``tweets_v2.jsonl`` hold one
record per case, in the order of ``V1_CASES`` / ``V2_CASES``. The last test also runs over the
500 real v1.1 tweets in ``../shared/data`` when that file exists.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from streamsift.errors import StreamsiftError
from streamsift.records import (
    MAX_TEXT_CHARS,
    MalformedRecord,
    Tweet,
    Url,
    clean_text,
    domain_of,
    extract_tweet_id,
    normalize,
    normalize_v1,
    normalize_v2,
    parse_created_at,
    parse_payload,
    unescape_entities,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# tests/unit/test_records.py -> parents: [0] tests/unit, [1] tests, [2] the repo, [3] its parent
SHARED_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "tweets_v1_sample.jsonl"

V1_CASES = (
    "plain",
    "extended",
    "retweet_extended",
    "quote",
    "reply",
    "hashtags_emoji",
    "non_english",
    "minimal",
    "delete_notice",
    "limit_notice",
    "no_id",
)
V2_CASES = (
    "plain",
    "note_tweet",
    "retweet_note",
    "quote",
    "reply",
    "hashtags_emoji",
    "non_english",
    "minimal",
    "bare",
    "error_message",
    "compliance_delete",
    "no_id",
)
V1_MALFORMED = {
    "delete_notice": "not a tweet: a stream 'delete' notice",
    "limit_notice": "not a tweet: a stream 'limit' notice",
    "no_id": "missing tweet id",
}
V2_MALFORMED = {
    "error_message": "not a tweet: an X API v2 error message (operational-disconnect)",
    "compliance_delete": "not a tweet: a v2 'delete' compliance event",
    "no_id": "missing tweet id",
}

#: A text cut by X: "…" and then nothing but a t.co link.
TRUNCATED = re.compile(r"…\s*(?:https://t\.co/\w+\s*)?$")


def _lines(name: str) -> list[bytes]:
    return [ln for ln in (FIXTURES / name).read_bytes().splitlines() if ln.strip()]


V1_LINES = dict(zip(V1_CASES, _lines("tweets_v1.jsonl"), strict=False))
V2_LINES = dict(zip(V2_CASES, _lines("tweets_v2.jsonl"), strict=False))


def v1(case: str) -> Tweet:
    return parse_payload(V1_LINES[case])[0]


def v2(case: str) -> Tweet:
    return parse_payload(V2_LINES[case])[0]


def raw_v1(case: str) -> dict[str, Any]:
    return json.loads(V1_LINES[case])


def raw_v2(case: str) -> dict[str, Any]:
    return json.loads(V2_LINES[case])


def domains(t: Tweet) -> set[str]:
    return {u.domain for u in t.urls}


def test_fixture_files_hold_one_record_per_case():
    assert len(_lines("tweets_v1.jsonl")) == len(V1_CASES)
    assert len(_lines("tweets_v2.jsonl")) == len(V2_CASES)


# -- X API v1.1 ------------------------------------------------------------------------------
def test_v1_plain():
    t = v1("plain")
    assert t.tweet_id == 1250000000000000001
    assert t.text == "Just finished the morning run along the river. Legs are jelly but worth it!"
    assert t.created_at == datetime(2020, 4, 15, 8, 12, 3, tzinfo=UTC)
    assert t.lang == "en"
    assert (t.user_id, t.user_screen_name, t.user_name) == (11111111, "runner_jo", "Jo Runner")
    assert (t.user_followers_count, t.user_verified) == (532, False)
    assert not (t.is_retweet or t.is_quote or t.is_reply)
    assert (t.retweeted_id, t.quoted_id, t.in_reply_to_id, t.quoted_text) == (None, None, None, None)
    assert (t.hashtags, t.mentions, t.urls) == ((), (), ())
    assert t.source_format == "v1.1"


def test_v1_extended_tweet_keeps_full_text_and_its_urls():
    d = raw_v1("extended")
    assert d["truncated"] is True and len(d["text"]) <= 140  # the fixture is really truncated
    t = v1("extended")
    assert t.text == d["extended_tweet"]["full_text"]
    assert len(t.text) > 140
    assert t.text.startswith("New report: air quality") and t.text.endswith("#AirQuality #COVID19")
    assert not TRUNCATED.search(t.text)
    # this URL is only in extended_tweet.entities, not in the truncated text's entities
    expanded = "https://www.example.org/reports/2020/air-quality?src=tw"
    assert Url("https://t.co/AirQ2020xy", expanded, "example.org") in t.urls
    assert "https://twitter.com/i/web/status/1250000000000000002" in t.expanded_urls
    assert domains(t) == {"example.org", "twitter.com"}
    assert t.hashtags == ("AirQuality", "COVID19")
    assert (t.user_screen_name, t.user_name) == ("cleanairlab", "Clean Air Lab")
    assert (t.user_followers_count, t.user_verified) == (48210, True)


def test_v1_retweet_of_extended_tweet_takes_the_retweeted_full_text():
    d = raw_v1("retweet_extended")
    assert d["text"].endswith("…")
    t = v1("retweet_extended")
    full = d["retweeted_status"]["extended_tweet"]["full_text"]
    assert t.text == "RT @cityweather: " + full
    assert t.text.endswith("check the latest updates before travelling https://t.co/Storm4471z #StormWarning")
    assert "…" not in t.text
    assert t.is_retweet and not t.is_quote and not t.is_reply
    assert t.retweeted_id == 1249999999999990003
    # the user is the retweeter, not the original author
    assert (t.user_id, t.user_screen_name, t.user_name) == (44444444, "harbour_kim", "Kim 🌊")
    assert "https://weather.example.gov/alerts/coast?id=4471" in t.expanded_urls
    assert "weather.example.gov" in domains(t)
    assert t.hashtags == ("StormWarning",)
    assert t.mentions == ("cityweather",)


def test_v1_quote_tweet_keeps_quoted_text_and_quoted_urls():
    t = v1("quote")
    assert t.text == "This is exactly what we were worried about. https://t.co/QuoteLnk4"
    assert t.is_quote and not t.is_retweet
    assert t.quoted_id == 1249999999999990004
    assert t.quoted_text is not None
    assert t.quoted_text.startswith("Three rural clinics will close next month")
    assert t.quoted_text.endswith("and the council's statement https://t.co/Clinic0002")
    assert set(t.expanded_urls) >= {
        "https://twitter.com/healthdesk/status/1249999999999990004",
        "https://news.example.com/health/clinic-closures",
        "http://bit.ly/3clinicsPDF",
    }
    assert {"twitter.com", "news.example.com", "bit.ly"} <= domains(t)
    assert len(t.expanded_urls) == len(set(t.expanded_urls))  # no duplicates


def test_v1_reply():
    t = v1("reply")
    assert t.is_reply and t.in_reply_to_id == 1249999999999990005
    assert not (t.is_retweet or t.is_quote)
    assert t.text.startswith("@transit_help my bus never showed up")
    assert t.mentions == ("transit_help",)
    assert t.user_followers_count == 0  # zero is a count, not a missing value


def test_v1_hashtags_mentions_emoji():
    t = v1("hashtags_emoji")
    assert "🎉🚀" in t.text
    assert t.hashtags == ("opensource", "Python3")  # the repeated #opensource once
    assert t.mentions == ("maria_dev", "OpenSourceOrg")
    assert t.urls == (
        Url("https://t.co/Rel2point0", "https://github.com/example/project/releases/tag/v2.0", "github.com"),
    )
    assert t.user_name == "Py Fan 🐍"


def test_v1_non_english():
    t = v1("non_english")
    assert t.lang == "ja"
    assert t.text == "今日は東京で桜が満開でした🌸 とても綺麗！ #桜 #東京"
    assert t.hashtags == ("桜", "東京")
    assert t.user_name == "さくら"


def test_v1_minimal_record_gets_empty_optional_fields():
    t = v1("minimal")
    assert t == Tweet(
        tweet_id=1250000000000000008,
        text="minimal record, nothing else",
        created_at=None,
        lang=None,
        user_id=None,
        user_screen_name=None,
        user_name=None,
        user_followers_count=None,
        user_verified=None,
        is_retweet=False,
        is_quote=False,
        is_reply=False,
        retweeted_id=None,
        quoted_id=None,
        in_reply_to_id=None,
        quoted_text=None,
        source_format="v1.1",
    )


@pytest.mark.parametrize("case", sorted(V1_MALFORMED))
def test_v1_non_tweets_are_malformed(case):
    with pytest.raises(MalformedRecord) as exc:
        parse_payload(V1_LINES[case])
    assert str(exc.value) == V1_MALFORMED[case]


def test_v1_rest_full_text_field():
    """``tweet_mode=extended`` REST responses carry ``full_text`` instead of ``text``."""
    t = normalize({"id_str": "5", "full_text": "x" * 200, "entities": {"urls": []}})
    assert t.text == "x" * 200


def test_v1_retweet_of_a_quote_tweet():
    quoted = {
        "id_str": "7",
        "text": "the quoted one https://t.co/q",
        "entities": {"urls": [{"url": "https://t.co/q", "expanded_url": "https://quoted.example/a"}]},
    }
    d = {
        "id_str": "9",
        "text": "RT @orig: look…",
        "user": {"screen_name": "rter"},
        "retweeted_status": {
            "id_str": "8",
            "text": "look at this",
            "user": {"screen_name": "orig"},
            "is_quote_status": True,
            "quoted_status": quoted,
        },
    }
    t = normalize(d)
    assert t.text == "RT @orig: look at this"
    assert t.is_retweet and t.retweeted_id == 8
    assert t.is_quote and t.quoted_id == 7 and t.quoted_text == "the quoted one https://t.co/q"
    assert t.expanded_urls == ["https://quoted.example/a"]


def test_v1_reply_with_only_the_string_id():
    t = normalize({"id_str": "1", "text": "@a hi", "in_reply_to_status_id_str": "42"})
    assert t.is_reply and t.in_reply_to_id == 42


# -- X API v2 --------------------------------------------------------------------------------
def test_v2_plain():
    t = v2("plain")
    assert t.tweet_id == 1650000000000000001
    assert t.text == "Coffee, sunshine and a quiet Sunday morning. Perfect."
    assert t.created_at == datetime(2023, 4, 23, 8, 12, 3, tzinfo=UTC)
    assert t.lang == "en"
    assert (t.user_id, t.user_screen_name, t.user_name) == (2001, "sunday_sam", "Sam S.")
    assert (t.user_followers_count, t.user_verified) == (812, False)
    assert not (t.is_retweet or t.is_quote or t.is_reply)
    assert (t.retweeted_id, t.quoted_id, t.in_reply_to_id, t.quoted_text) == (None, None, None, None)
    assert (t.hashtags, t.mentions, t.urls) == ((), (), ())
    assert t.source_format == "v2"


def test_v2_note_tweet_keeps_long_text_and_its_urls():
    d = raw_v2("note_tweet")
    t = v2("note_tweet")
    assert t.text == d["data"]["note_tweet"]["text"]
    assert len(t.text) > 280 and len(d["data"]["text"]) <= 280
    assert t.text.endswith("Comments and corrections are very welcome. #opendata #transit")
    # both the expanded and the unwound URL survive
    assert t.urls == (
        Url("https://t.co/BusData23", "https://data.example.org/bus-punctuality-2022", "data.example.org"),
        Url(
            "https://t.co/BusData23",
            "https://data.example.org/datasets/bus-punctuality-2022/v3",
            "data.example.org",
        ),
    )
    assert t.hashtags == ("opendata", "transit")
    assert (t.user_screen_name, t.user_followers_count, t.user_verified) == ("citydatadesk", 15200, True)


def test_v2_retweet_of_note_tweet_takes_the_full_text_from_includes():
    d = raw_v2("retweet_note")
    assert d["data"]["text"].endswith("…")
    t = v2("retweet_note")
    assert t.text == "RT @citydatadesk: " + raw_v2("note_tweet")["data"]["note_tweet"]["text"]
    assert "…" not in t.text
    assert t.is_retweet and t.retweeted_id == 1650000000000000002
    assert not (t.is_quote or t.is_reply)
    assert (t.user_id, t.user_screen_name, t.user_followers_count) == (2003, "bus_rider_99", 41)
    assert "https://data.example.org/bus-punctuality-2022" in t.expanded_urls
    assert "https://data.example.org/datasets/bus-punctuality-2022/v3" in t.expanded_urls
    assert t.mentions == ("citydatadesk",)
    assert t.hashtags == ("opendata", "transit")


def test_v2_quote_keeps_expanded_and_unwound_urls():
    t = v2("quote")
    assert t.text == "Finally! Took them long enough https://t.co/QuoteV2004"
    assert t.is_quote and t.quoted_id == 1649999999999990004 and not t.is_retweet
    assert t.quoted_text == raw_v2("quote")["includes"]["tweets"][0]["text"]
    assert t.quoted_text.endswith("45 km by 2025 https://t.co/Cycle0045")
    assert t.expanded_urls == [
        "https://twitter.com/citycouncil/status/1649999999999990004",
        "https://bit.ly/cyclelanes45",
        "https://www.citycouncil.example.gov/news/cycle-lanes-approved",
    ]
    assert [u.domain for u in t.urls] == ["twitter.com", "bit.ly", "citycouncil.example.gov"]
    assert {u.url for u in t.urls} == {"https://t.co/QuoteV2004", "https://t.co/Cycle0045"}
    assert (t.user_screen_name, t.user_name) == ("pedal_power", "Pedal Power 🚲")


def test_v2_reply():
    t = v2("reply")
    assert t.is_reply and t.in_reply_to_id == 1649999999999990004
    assert not (t.is_retweet or t.is_quote) and t.quoted_text is None
    assert t.mentions == ("citycouncil",)
    assert t.user_followers_count == 0


def test_v2_hashtags_mentions_emoji():
    t = v2("hashtags_emoji")
    assert "🙌✨" in t.text
    assert t.hashtags == ("PyConf", "womenintech")
    assert t.mentions == ("ada_l", "grace_h")
    assert domains(t) == {"buff.ly", "speakerdeck.example.com"}
    assert t.created_at == datetime(2023, 4, 23, 11, 0, tzinfo=UTC)


def test_v2_non_english():
    t = v2("non_english")
    assert t.lang == "es"
    assert t.text == "¡Qué partidazo! El equipo remontó en los últimos cinco minutos ⚽🔥 #Fútbol"
    assert t.hashtags == ("Fútbol",)
    assert t.user_name == "Lucía"


def test_v2_minimal():
    t = v2("minimal")
    assert (t.tweet_id, t.text, t.source_format) == (1650000000000000008, "minimal v2 record", "v2")
    assert (t.created_at, t.lang, t.user_id, t.user_screen_name, t.user_followers_count) == (None,) * 5
    assert (t.hashtags, t.mentions, t.urls) == ((), (), ())
    assert not (t.is_retweet or t.is_quote or t.is_reply)


def test_v2_bare_tweet_without_envelope():
    t = v2("bare")
    assert t.source_format == "v2"
    assert t.tweet_id == 1650000000000000009 and t.user_id == 2009
    assert t.user_screen_name is None  # no includes to look the author up in
    assert t.created_at == datetime(2023, 4, 23, 13, 0, tzinfo=UTC)
    assert t.urls == (Url("https://t.co/Bare000009", "https://example.net/bare?x=1", "example.net"),)


@pytest.mark.parametrize("case", sorted(V2_MALFORMED))
def test_v2_non_tweets_are_malformed(case):
    with pytest.raises(MalformedRecord) as exc:
        parse_payload(V2_LINES[case])
    assert str(exc.value) == V2_MALFORMED[case]


def test_v2_referenced_tweet_missing_from_includes():
    t = normalize_v2(
        {"data": {"id": "3", "text": "RT @a: cut…", "referenced_tweets": [{"type": "retweeted", "id": "2"}]}}
    )
    assert t.is_retweet and t.retweeted_id == 2 and t.text == "RT @a: cut…"


def test_normalize_v1_and_v2_directly():
    assert normalize_v1(raw_v1("plain")) == v1("plain")
    assert normalize_v2(raw_v2("plain")) == v2("plain")


# -- malformed payloads ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, "empty payload"),
        (b"", "empty payload"),
        ("", "empty payload"),
        (b'{"id_str": "1", "text": "caf\xe9"}', "payload is not UTF-8: invalid continuation byte at byte 28"),
        (b"\xff\xfe{}", "payload is not UTF-8: invalid start byte at byte 0"),
        ('{"id_str": "1", "text": ', "invalid JSON: Expecting value at line 1 column 25"),
        ("{'id': 1}", "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ("   ", "invalid JSON: Expecting value at line 1 column 4"),
        ('{"id_str": "1", "text": "x", "lang": NaN}', "invalid JSON: NaN is not a JSON value"),
        ('{"id": Infinity, "text": "x"}', "invalid JSON: Infinity is not a JSON value"),
        ("[" * 100_000, "invalid JSON: nested too deeply"),
        ("[1, 2]", "not a JSON object but a list"),
        ("42", "not a JSON object but a int"),
        ('"a tweet"', "not a JSON object but a str"),
        ("null", "not a JSON object but a NoneType"),
        ("{}", "missing tweet id"),
        ('{"text": "no id"}', "missing tweet id"),
        ('{"id": null, "id_str": "", "text": "no id"}', "missing tweet id"),
        ('{"id_str": "1"}', "missing text"),
        ('{"id_str": "1", "text": null}', "missing text"),
        ('{"id_str": "1", "text": 5}', "missing text"),
        ('{"id_str": "1", "text": ""}', "empty text"),
        ('{"id_str": "1", "text": " \\n\\t "}', "empty text"),
        ('{"id_str": "1", "text": "\\u0000"}', "empty text"),
        ('{"id_str": "abc", "text": "x"}', "tweet id is not an integer: 'abc'"),
        ('{"id": 1.5, "text": "x"}', "tweet id is not an integer: '1.5'"),
        ('{"id": 1e400, "text": "x"}', "tweet id is not an integer: 'inf'"),
        ('{"id": true, "text": "x"}', "tweet id is a boolean, not an id"),
        ('{"id": -5, "text": "x"}', "tweet id out of range: -5"),
        ('{"id": 0, "text": "x"}', "tweet id out of range: 0"),
        ('{"id_str": "9223372036854775808", "text": "x"}', "tweet id out of range: 9223372036854775808"),
        ('{"id": [1], "text": "x"}', "tweet id is not an integer: '[1]'"),
        ('{"delete": {"status": {"id": 1, "id_str": "1"}}}', "not a tweet: a stream 'delete' notice"),
        ('{"limit": {"track": 5}}', "not a tweet: a stream 'limit' notice"),
        ('{"disconnect": {"code": 7, "reason": "x"}}', "not a tweet: a stream 'disconnect' notice"),
        ('{"errors": [{"message": "Rate limit exceeded"}]}', "not a tweet: an X API v2 error message"),
        ('{"data": {"text": "x"}}', "missing tweet id"),
        ('{"data": {"id": "1"}}', "missing text"),
        ('{"data": {"id": "1", "text": ""}}', "empty text"),
        ('{"data": "x", "author_id": "1"}', "v2 'data' is not an object"),
        ('{"data": {"withheld": {"id": "1"}}}', "not a tweet: a v2 'withheld' compliance event"),
    ],
)
def test_malformed_payloads_give_a_readable_reason(payload, reason):
    with pytest.raises(MalformedRecord) as exc:
        parse_payload(payload)
    assert str(exc.value).startswith(reason)
    assert isinstance(exc.value, StreamsiftError)


def test_text_longer_than_the_limit_is_malformed():
    with pytest.raises(MalformedRecord, match=r"text longer than 40000 characters \(40001\)"):
        normalize({"id_str": "1", "text": "x" * (MAX_TEXT_CHARS + 1)})
    assert len(normalize({"id_str": "1", "text": "x" * MAX_TEXT_CHARS}).text) == MAX_TEXT_CHARS


# -- NUL, surrogates and the raw JSON kept for jsonb ------------------------------------------
def test_nul_is_removed_from_text_and_replaced_in_raw():
    payload = '{"id_str": "1", "text": "a\\u0000b", "user": {"name": "N\\u0000ame", "screen_name": "s"}}'
    t, raw = parse_payload(payload.encode())
    assert t.text == "ab" and t.user_name == "Name"
    assert b"\\u0000" not in raw
    assert json.loads(raw)["text"] == "a\ufffdb"  # still valid JSON, jsonb accepts it


def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    # the tweet's text is the six characters \u0000 (a code sample), not a NUL
    payload = r'{"id_str": "1", "text": "C:\\u0000 and a real one:\u0000", "lang": "en"}'
    t, raw = parse_payload(payload)
    assert t.text == "C:\\u0000 and a real one:"
    assert json.loads(raw)["text"] == "C:\\u0000 and a real one:\ufffd"


def test_lone_surrogates_are_replaced_in_text_and_raw():
    payload = r'{"id_str": "1", "text": "bad \ud800 good \ud83d\ude00 bad \udc00", "lang": "en"}'
    t, raw = parse_payload(payload.encode())
    assert t.text == "bad \ufffd good 😀 bad \ufffd"
    assert json.loads(raw)["text"] == "bad \ufffd good 😀 bad \ufffd"
    assert b"\\ud800" not in raw and b"\\udc00" not in raw
    assert b"\\ud83d\\ude00" in raw  # a valid pair is left alone


def test_raw_is_the_payload_when_nothing_needs_fixing():
    line = V1_LINES["quote"]
    assert parse_payload(line)[1] == line  # the bytes as delivered
    assert parse_payload(bytearray(line))[1] == line
    assert parse_payload(memoryview(line))[1] == line
    assert parse_payload(line.decode())[1] == line


def test_raw_of_a_v2_payload_is_its_bytes_unless_jsonb_would_refuse_them():
    line = '{"data": {"id": "7", "text": "caf\u00e9 ☕ https://t.co/x"}, "includes": {}}'.encode()
    t, raw = parse_payload(line)
    assert t.tweet_id == 7 and t.text.startswith("café ☕")
    assert raw == line  # not decoded and encoded again
    nul = b'{"data": {"id": "8", "text": "a\\u0000b"}}'
    t, raw = parse_payload(nul)
    assert t.text == "ab" and b"\\u0000" not in raw and json.loads(raw)["data"]["text"] == "a\ufffdb"
    lone = b'{"data": {"id": "9", "text": "bad \\ud800"}}'
    t, raw = parse_payload(lone)
    assert t.text == "bad \ufffd" and b"\\ud800" not in raw


def test_clean_text():
    assert clean_text("a\x00b\x00") == "ab"
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean_text("\ud83d\ude00") == "😀"  # a split pair is joined
    assert clean_text("ok 🌸") == "ok 🌸"
    assert clean_text(None) == "" and clean_text(5) == ""


# -- helpers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.Example.COM/path?q=1#frag", "example.com"),
        ("https://example.com", "example.com"),
        ("https://example.com?q=1", "example.com"),
        ("https://example.com#top", "example.com"),
        ("http://example.com:8080/x", "example.com"),
        ("https://www.example.com:443", "example.com"),
        ("http://user:secret@host.example.org:8080/x", "host.example.org"),
        ("http://user@example.com/", "example.com"),
        ("http://a@b@example.com/", "example.com"),
        ("https://example.com/@someone", "example.com"),
        ("https://example.com/?next=user@evil.org", "example.com"),
        ("http://[2001:db8::1]:8080/a", "[2001:db8::1]"),
        ("http://[2001:DB8::1]/", "[2001:db8::1]"),
        ("http://user:pw@[::1]:80/", "[::1]"),
        ("http://192.168.0.1:8000/", "192.168.0.1"),
        ("example.com/path", "example.com"),
        ("www.example.com:8080", "example.com"),
        ("example.com/redirect?to=https://other.org/", "example.com"),
        ("//cdn.example.com/lib.js", "cdn.example.com"),
        ("  HTTPS://WWW.EXAMPLE.COM./  ", "example.com"),
        ("https://www2.example.com", "www2.example.com"),
        ("https://wwwexample.com", "wwwexample.com"),
        ("https://sub.www.example.com", "sub.www.example.com"),
        ("https://bit.ly/3abc", "bit.ly"),
        ("", ""),
        ("   ", ""),
        ("https://", ""),
        ("/just/a/path", ""),
    ],
)
def test_domain_of(url, domain):
    assert domain_of(url) == domain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sun Apr 05 10:46:44 +0000 2020", datetime(2020, 4, 5, 10, 46, 44, tzinfo=UTC)),
        ("Wed Dec 31 23:59:59 +0000 2014", datetime(2014, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("Sun Apr 05 12:46:44 +0200 2020", datetime(2020, 4, 5, 10, 46, 44, tzinfo=UTC)),
        ("2023-04-23T08:12:03.000Z", datetime(2023, 4, 23, 8, 12, 3, tzinfo=UTC)),
        ("2023-04-23T08:12:03Z", datetime(2023, 4, 23, 8, 12, 3, tzinfo=UTC)),
        ("2023-04-23T10:12:03+02:00", datetime(2023, 4, 23, 8, 12, 3, tzinfo=UTC)),
        ("2023-04-23T08:12:03", datetime(2023, 4, 23, 8, 12, 3, tzinfo=UTC)),  # naive -> UTC
        ("2023-04-23", datetime(2023, 4, 23, tzinfo=UTC)),
        (None, None),
        ("", None),
        (1586083604, None),
        ("not a date", None),
        ("Sun Foo 05 10:46:44 +0000 2020", None),
        ("Sun Apr 32 10:46:44 +0000 2020", None),
        ("Sun Apr 05 25:46:44 +0000 2020", None),
        ("2023-13-01T00:00:00Z", None),
        ("2023", None),
    ],
)
def test_parse_created_at(value, expected):
    got = parse_created_at(value)
    assert got == expected
    if got is not None:
        assert got.utcoffset() is not None


def test_parse_created_at_keeps_the_offset():
    got = parse_created_at("2023-04-23T10:12:03+02:00")
    assert got is not None and got.utcoffset() == timedelta(hours=2)
    assert got.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("payload", "tweet_id"),
    [
        (V1_LINES["plain"], 1250000000000000001),
        (V1_LINES["minimal"], 1250000000000000008),
        (V2_LINES["plain"], 1650000000000000001),
        (V2_LINES["bare"], 1650000000000000009),
        (V1_LINES["delete_notice"], None),
        (V1_LINES["no_id"], None),
        (V2_LINES["error_message"], None),
        ('{"id": 7}', 7),
        ('{"id_str": "x"}', None),
        ('{"id": -1}', None),
        ("[1]", None),
        ("not json", None),
        (b"\xff", None),
    ],
)
def test_extract_tweet_id(payload, tweet_id):
    assert extract_tweet_id(payload) == tweet_id


# -- robustness: mutate every key of every fixture record ---------------------------------------
WRONG_VALUES: tuple[Any, ...] = (
    None,
    0,
    -1,
    2**70,
    1.5,
    float("inf"),
    float("nan"),
    True,
    "",
    "x",
    [],
    [None],
    [1, "a"],
    {},
    {"x": 1},
)
#: Keys whose loss may rightly make a record malformed.
ESSENTIAL = {"id", "id_str", "text", "full_text", "extended_tweet", "note_tweet", "data"}
_DELETE = object()


def _mutations(record: dict[str, Any]) -> Iterator[tuple[str, bool, dict[str, Any]]]:
    """(description, only an optional field changed, mutated copy) for every key and value.

    Top-level keys, and the keys of the objects directly below them (user, entities,
    retweeted_status, v2 data and includes, ...).
    """
    paths: list[tuple[str, ...]] = []
    for k, v in record.items():
        paths.append((k,))
        if isinstance(v, dict):
            paths += [(k, k2) for k2 in v]
    for path in paths:
        for value in (_DELETE, *WRONG_VALUES):
            d = copy.deepcopy(record)
            parent = d if len(path) == 1 else d[path[0]]
            if value is _DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            top_level_of_tweet = len(path) == 1 or path[0] == "data"
            optional = not (top_level_of_tweet and path[-1] in ESSENTIAL)
            yield f"{'.'.join(path)} = {'<deleted>' if value is _DELETE else repr(value)}", optional, d


FIXTURE_RECORDS = [
    pytest.param(name, case, id=f"{name.split('_')[1].split('.')[0]}-{case}")
    for name, cases in (("tweets_v1.jsonl", V1_CASES), ("tweets_v2.jsonl", V2_CASES))
    for case in cases
]


@pytest.mark.parametrize(("name", "case"), FIXTURE_RECORDS)
def test_mutated_records_never_raise_anything_but_malformed(name, case):
    lines = V1_LINES if name == "tweets_v1.jsonl" else V2_LINES
    record = json.loads(lines[case])
    try:
        original: Tweet | None = normalize(record)
    except MalformedRecord:
        original = None
    failures = []
    for what, optional, mutated in _mutations(record):
        try:
            t = normalize(mutated)
        except MalformedRecord as exc:
            assert str(exc), what
            if original is not None and optional:
                failures.append(f"{what}: an optional field made the record malformed: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            failures.append(f"{what}: {type(exc).__name__}: {exc}")
            continue
        assert isinstance(t, Tweet)
        assert t.text.strip() and "\x00" not in t.text
        if original is not None and optional:
            assert t.tweet_id == original.tweet_id, what
    assert not failures, "\n".join(failures[:20])


# -- the 500 real v1.1 tweets (or, where they are absent, the v1.1 fixtures) ------------------
def _v1_corpora() -> list[Any]:
    if SHARED_SAMPLE.is_file():
        return [pytest.param(SHARED_SAMPLE, 500, id="shared-sample")]
    # on a machine without the shared data, the same checks run on the fixtures
    return [pytest.param(FIXTURES / "tweets_v1.jsonl", None, id="v1-fixtures")]


def _full_text(status: dict[str, Any]) -> str:
    ext = status.get("extended_tweet")
    if isinstance(ext, dict) and isinstance(ext.get("full_text"), str):
        return ext["full_text"]
    return status.get("full_text") or status.get("text") or ""


def _has_full_text(status: dict[str, Any]) -> bool:
    ext = status.get("extended_tweet")
    return (isinstance(ext, dict) and isinstance(ext.get("full_text"), str)) or "full_text" in status


def _expanded_urls(status: Any) -> set[str]:
    """Every expanded URL of a status, its extended tweet and (recursively) retweeted/quoted ones."""
    out: set[str] = set()
    if not isinstance(status, dict):
        return out
    ext = status.get("extended_tweet") if isinstance(status.get("extended_tweet"), dict) else {}
    for entities in (status.get("entities"), ext.get("entities")):
        for u in (entities or {}).get("urls") or []:
            if u.get("expanded_url"):
                out.add(u["expanded_url"])
    out |= _expanded_urls(status.get("retweeted_status"))
    out |= _expanded_urls(status.get("quoted_status"))
    return out


@pytest.mark.parametrize(("path", "expected_count"), _v1_corpora())
def test_real_v1_tweets(path: Path, expected_count: int | None):
    tweets = 0
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if expected_count is None and "id" not in d and "id_str" not in d:
            # the fixtures' notices: malformed, with a reason (the shared sample has none)
            with pytest.raises(MalformedRecord):
                parse_payload(line)
            continue
        t, raw = parse_payload(line)
        tweets += 1
        assert t.tweet_id == int(d["id_str"]) and t.source_format == "v1.1"
        assert json.loads(raw) == d

        # the full text, never the truncated one
        rt = d.get("retweeted_status")
        source = rt if isinstance(rt, dict) else d
        expected = _full_text(source)
        if isinstance(rt, dict):
            expected = f"RT @{rt['user']['screen_name']}: {expected}"
        assert t.text == unescape_entities(clean_text(expected)), t.tweet_id
        if TRUNCATED.search(t.text):  # only when the author's own full text ends like that
            assert TRUNCATED.search(_full_text(source)), t.tweet_id
        if _has_full_text(source):
            assert t.text != d["text"] or d["text"] == _full_text(source), t.tweet_id
        qt = d.get("quoted_status") or (rt or {}).get("quoted_status")
        if isinstance(qt, dict):
            assert t.is_quote and t.quoted_text == unescape_entities(clean_text(_full_text(qt))), t.tweet_id

        # every expanded URL, anywhere
        missing = _expanded_urls(d) - set(t.expanded_urls)
        assert not missing, (t.tweet_id, missing)
        assert all(u.domain == domain_of(u.expanded_url) for u in t.urls)

        # flags, ids, user, time
        assert t.is_retweet == isinstance(rt, dict)
        if isinstance(rt, dict):
            assert t.retweeted_id == int(rt["id_str"])
        assert t.is_reply == (d.get("in_reply_to_status_id") is not None)
        if "user" in d:
            assert t.user_id == int(d["user"]["id_str"])
            assert t.user_screen_name == d["user"]["screen_name"]
            assert t.user_followers_count == d["user"]["followers_count"]
        if "created_at" in d:
            assert t.created_at is not None and t.created_at.tzinfo is not None
        if "timestamp_ms" in d:
            assert t.created_at is not None
            assert int(t.created_at.timestamp()) == int(d["timestamp_ms"]) // 1000
        entities = (source.get("extended_tweet") or source).get("entities") or {}
        assert {h["text"] for h in entities.get("hashtags", [])} <= set(t.hashtags), t.tweet_id
    if expected_count is not None:
        assert tweets == expected_count
    else:
        assert tweets == len(V1_CASES) - len(V1_MALFORMED)


def test_html_entities_the_api_escapes_are_undone():
    from streamsift.records import normalize

    t = normalize({"id_str": "5", "text": "R&amp;D &lt;3 AT&amp;T &gt; all &amp;amp; &quot;q&quot;"})
    assert t.text == "R&D <3 AT&T > all &amp; &quot;q&quot;"
