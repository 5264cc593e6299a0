"""The compiled v1.1 path (``records/_v1_native.pyx``) gives the Python path's rows, field by field.

Every payload goes through :func:`rows_from_messages` twice, with and without the compiled path; the
tweets, links and dead letters must be the same. Where the compiled path declines a payload both runs
take the Python path, so each test also checks the compiled one took what it should.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from streamsift.records._v1_native import escapes_ok, v1_row

from streamsift.ingest.sink import KafkaMessage, native_available, rows_from_messages
from streamsift.sources.synthetic import generate
from tests.unit.test_records_fast import EDGE_CASES, _corpus_lines, _real_corpora, _status

_NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _agree(payloads: list[bytes]) -> int:
    """Both ways give the same rows; returns how many the compiled path took."""
    msgs = [KafkaMessage(p, "tweets.raw", n % 3, n, _NOW) for n, p in enumerate(payloads)]
    native, python = rows_from_messages(msgs), rows_from_messages(msgs, native=False)
    assert len(native.tweets) == len(python.tweets)
    for a, b in zip(native.tweets, python.tweets, strict=True):
        for col, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x == y and type(x) is type(y), (col, x, y, a[20][:200])
    assert native.urls == python.urls
    assert native.dead == python.dead
    return sum(v1_row(p, "t", 0, 0, None) is not None for p in payloads if isinstance(p, bytes))


def test_it_is_built_here():
    assert native_available()


def test_every_fixture_line():
    assert _agree(_corpus_lines()) >= 10


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_streams(seed: int):
    items = list(generate(3000, seed=seed, malformed_share=0.05, duplicate_share=0.02))
    taken = _agree([i.record.payload for i in items])
    v1 = sum(1 for i in items if i.kind != "malformed" and b'"data"' not in i.record.payload[:12])
    assert taken >= 0.95 * v1


@pytest.mark.parametrize(("paths", "min_share"), _real_corpora())
def test_real_tweets(paths: list[Path], min_share: float):
    lines = [ln for p in paths for ln in p.read_bytes().splitlines()[:20_000] if ln.strip()]
    assert _agree(lines) > min_share * len(lines)


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases(case: str):
    _agree([orjson.dumps(EDGE_CASES[case])])


_TAKEN = {
    "emoji as a surrogate pair": b'{"id_str": "1", "text": "pair \\ud83d\\ude00 \\u00e9"}',
    "19-digit id": orjson.dumps(_status(id_str=str(2**63 - 1))),
    "leading zeros": orjson.dumps(_status(id_str="007")),
    "day 31 and day 29": orjson.dumps(_status(created_at="Tue Mar 31 23:59:59 +0000 2020")),
    "not a leap year": orjson.dumps(_status(created_at="Mon Feb 29 10:00:00 +0000 2021")),
    "another offset": orjson.dumps(_status(created_at="Sun Apr 05 10:46:44 +0200 2020")),
    "created_at spaced": orjson.dumps(_status(created_at="Sun  Apr 05 10:46:44 +0000 2020")),
    "links of every shape": orjson.dumps(
        _status(
            entities={
                "urls": [
                    {"url": "a", "expanded_url": u}
                    for u in (
                        " HTTPS://WWW.Example.COM./p ",
                        "http://user:pw@host.io:8080/x",
                        "//scheme.relative/x",
                        "https://[2001:db8::1]:443/x",
                        "https://[2001:db8::1",
                        "a.com/?next=https://b.org",
                        "https://bücher.de/é",
                        "mailto:x@y.z",
                        "https://www./",
                        "\x1fhttps://ctl.org\x1c",
                        "9http://digit.first/",
                        "https://example.com#frag?q",
                    )
                ]
            }
        )
    ),
    "same link twice": orjson.dumps(
        _status(
            entities={
                "urls": [{"url": "a", "expanded_url": "https://x.y"}, {"url": "b", "expanded_url": "https://x.y"}]
            }
        )
    ),
    "odd ids elsewhere": orjson.dumps(
        _status(
            user={"id_str": " 12", "id": 3, "followers_count": 2**63},
            in_reply_to_status_id_str="١٢",
            quoted_status_id=0,
            quoted_status=_status(id_str="", id=2**63 - 1, text="q"),
        )
    ),
}


@pytest.mark.parametrize("case", list(_TAKEN))
def test_cases_the_compiled_path_takes(case: str):
    assert _agree([_TAKEN[case]]) == 1


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id_str": "1", "text": "lone \\ud800"}',
        b'{"id_str": "1", "text": "lone \\udc00 low"}',
        b'{"id_str": "1", "text": "ok", "junk": "\\ud83d"}',  # in a field the schema skips
        b'{"id_str": "1", "text": "ok", "junk": "\\\\\\ud83d\\\\ude00"}',  # a high one, then an escaped backslash
        b'{"id_str": "1", "text": "nul \\u0000"}',
        b'{"id_str": "1", "text": "ok", "user": {"description": "caf\xe9"}}',  # not UTF-8
        b'{"id_str": "1", "text": "   "}',
        b'{"id_str": "1", "text": "x", "data": {}}',
        b'{"id_str": "99999999999999999999", "text": "x"}',
    ],
)
def test_cases_it_declines(payload: bytes):
    assert v1_row(payload, "t", 0, 0, None) is None
    _agree([payload])


def test_an_escaped_backslash_before_u_is_text_not_an_escape():
    assert escapes_ok(b'{"t": "\\\\ud800"}')  # a backslash, then the letters "ud800"
    assert not escapes_ok(b'{"t": "\\\\\\ud800"}')  # a backslash, then a lone surrogate
    assert escapes_ok(b'{"t": "\\"\\ud83d\\ude00"}')
    assert not escapes_ok(b'{"t": "\\u00"}')


def test_raw_is_the_payload_itself():
    payload = orjson.dumps(_status())
    row, links = v1_row(payload, "tweets.raw", 2, 40, _NOW)
    assert row[20] is payload and json.loads(row[20])["id_str"] == "1246751119155449856"
    assert row[21:25] == ("tweets.raw", 2, 40, _NOW)
    assert links == [("https://t.co/x", "https://www.Example.org:443/a?b=c", "example.org")]
