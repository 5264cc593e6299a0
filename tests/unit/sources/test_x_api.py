"""XApiSource against a real local HTTP server speaking the filtered-stream protocol."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from streamsift.config import XApiSettings
from streamsift.sources.base import SourceError
from streamsift.sources.x_api import STREAM_PARAMS, ReconnectBackoff, XApiSource
from tests.support.fake_x_api import KEEP_ALIVE, FakeXApi, Reply, Stream, line, tweet

TOKEN = "AAAA-test-bearer-token-0123456789"
RULES = ["AI has:links -is:retweet", "news lang:en"]


@pytest.fixture
def fake() -> Iterator[FakeXApi]:
    server = FakeXApi(token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


class Sleeps(list[float]):
    """The injected sleep: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_source(fake: FakeXApi, sleeps: Sleeps, *, token: str = TOKEN, **kwargs) -> XApiSource:
    settings_kw = {k: kwargs.pop(k) for k in ("rules", "max_backoff_s") if k in kwargs}
    settings = XApiSettings(base_url=fake.base_url, **{"rules": RULES, **settings_kw})
    kwargs.setdefault("max_reconnects", 10)
    return XApiSource(settings, SecretStr(token), sleep=sleeps, **kwargs)


def payload(message: dict) -> bytes:
    """The payload the source must yield: the line as delivered, without its terminator."""
    return line(message).rstrip(b"\r\n")


def test_all_tweets_in_order_across_disconnect_429_and_503(fake, sleeps):
    tweets = [tweet(i) for i in range(1, 8)]
    reset_at = int(time.time()) + 300
    fake.add_connections(
        # 1: three tweets, keep-alives between them, then the connection drops mid-line.
        Stream(
            [line(tweets[0]), KEEP_ALIVE, line(tweets[1]), KEEP_ALIVE, line(tweets[2]), b'{"data":{"id":"4'],
            end="drop",
        ),
        # 2: rate limited, with the reset time.
        Reply(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests"},
            {"x-rate-limit-reset": str(reset_at)},
        ),
        # 3: X is having trouble.
        Reply(503, {"title": "Service Unavailable", "detail": "Service Unavailable"}),
        # 4: the rest.
        Stream([KEEP_ALIVE, *[line(t) for t in tweets[3:]], KEEP_ALIVE], end="stall"),
    )
    with make_source(fake, sleeps, max_records=len(tweets)) as source:
        records = list(source)

    assert [r.payload for r in records] == [payload(t) for t in tweets]
    assert [r.key for r in records] == [str(i).encode() for i in range(1, 8)]
    assert fake.stream_connections == 4
    assert len(sleeps) == 3
    assert sleeps[0] == 0.25  # disconnect: linear back-off, first step
    assert reset_at - time.time() <= sleeps[1] <= reset_at - time.time() + 2  # 429: until the reset
    assert sleeps[2] == 5.0  # 5xx: exponential back-off, first step


def test_keep_alive_lines_and_split_chunks(fake, sleeps):
    first, second = line(tweet(1)), line(tweet(2))
    fake.add_connections(
        Stream(
            [
                KEEP_ALIVE,
                KEEP_ALIVE,
                first[:10],
                first[10:25],
                first[25:] + KEEP_ALIVE + second[:7],
                second[7:],
            ]
            + [KEEP_ALIVE] * 5,
            end="stall",
        )
    )
    with make_source(fake, sleeps, max_records=2) as source:
        records = list(source)
    assert [r.payload for r in records] == [payload(tweet(1)), payload(tweet(2))]
    assert all(r.payload.strip() for r in records)
    assert sleeps == []


def test_linear_backoff_on_disconnects_then_reset_after_data(fake, sleeps):
    fake.add_connections(
        Stream([], end="drop"),
        Stream([KEEP_ALIVE], end="close"),  # a clean end is a disconnect too
        Stream([b'{"data":'], end="drop"),
        Stream([line(tweet(1))], end="drop"),  # delivers: the back-off starts over
        Stream([], end="drop"),
        Stream([line(tweet(2))], end="stall"),
    )
    with make_source(fake, sleeps, max_records=2) as source:
        keys = [r.key for r in source]
    assert keys == [b"1", b"2"]
    assert sleeps == [0.25, 0.5, 0.75, 0.25, 0.5]


def test_exponential_backoff_on_5xx_capped(fake, sleeps):
    fake.add_connections(
        Reply(503),
        Reply(500, {"title": "Internal Error"}),
        Reply(502),
        Reply(503),
        Stream([line(tweet(1))], end="stall"),
    )
    with make_source(fake, sleeps, max_records=1, max_backoff_s=15) as source:
        assert [r.key for r in source] == [b"1"]
    assert sleeps == [5.0, 10.0, 15.0, 15.0]


def test_429_without_reset_header_backs_off_from_60s(fake, sleeps):
    fake.add_connections(Reply(429), Reply(429), Reply(429), Stream([line(tweet(1))], end="stall"))
    with make_source(fake, sleeps, max_records=1) as source:
        assert len(list(source)) == 1
    assert sleeps == [60.0, 120.0, 240.0]


def test_backoff_policy_caps():
    policy = ReconnectBackoff(max_backoff_s=320)
    assert [policy.network_error() for _ in range(70)][-3:] == [16.0, 16.0, 16.0]
    assert [policy.server_error() for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    assert [policy.rate_limited() for _ in range(4)] == [60, 120, 240, 320]
    assert policy.rate_limited(reset_at=1000.0, now=100.0) == 901.0  # reset beats the exponential wait
    policy.reset()
    assert (policy.network_error(), policy.server_error(), policy.rate_limited()) == (0.25, 5, 60)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
            "Unauthorized",
        ),
        (
            403,
            {
                "title": "Client Forbidden",
                "detail": "This request must be made using an approved developer account.",
                "reason": "client-not-enrolled",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
            },
            "Client Forbidden: This request must be made using an approved developer account.",
        ),
        (400, {"errors": [{"message": "The query parameter [expansions] is invalid"}]}, "is invalid"),
    ],
)
def test_4xx_on_stream_raises_without_retry(fake, sleeps, caplog, status, body, expected):
    fake.add_connections(Reply(status, body), Stream([line(tweet(1))]))
    source = make_source(fake, sleeps)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as info:
        next(iter(source))
    source.close()
    message = str(info.value)
    assert f"HTTP {status}" in message and expected in message
    assert TOKEN not in message and TOKEN not in repr(info.value) and TOKEN not in caplog.text
    assert sleeps == [] and fake.stream_connections == 1


def test_token_echoed_by_the_api_is_redacted(fake, sleeps, caplog):
    fake.add_connections(
        Reply(503, {"title": "Service Unavailable", "detail": f"overloaded for {TOKEN}"}),
        Reply(403, {"title": "Forbidden", "detail": f"token {TOKEN} may not use this endpoint"}),
    )
    source = make_source(fake, sleeps)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError, match="may not use") as info:
        list(source)
    source.close()
    assert "overloaded for" in caplog.text and "token ********** may not" in str(info.value)
    assert TOKEN not in str(info.value) + caplog.text


def test_payload_is_the_line_as_delivered(fake, sleeps):
    """No re-serialisation: spacing, key order and escapes are kept byte for byte."""
    raw = b'{ "matching_rules": [], "data" : {"text": "caf\\u00e9 \\ud83d\\ude00", "id": "7"} }'
    fake.add_connections(Stream([raw + b"\r\n", KEEP_ALIVE], end="stall"))
    with make_source(fake, sleeps, max_records=1) as source:
        (record,) = list(source)
    assert record.payload == raw and record.key == b"7"


def test_wrong_token_is_401_without_token_in_message(fake, sleeps, caplog):
    fake.add_connections(Stream([line(tweet(1))]))
    source = make_source(fake, sleeps, token="not-the-right-token-xyz")
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError, match=r"HTTP 401.*Unauthorized") as info:
        list(source)
    source.close()
    assert "STREAMSIFT_X_BEARER_TOKEN" in str(info.value)  # the hint
    assert "not-the-right-token-xyz" not in str(info.value) + repr(info.value) + caplog.text
    assert sleeps == [] and fake.stream_connections == 0


def test_missing_token_is_refused(fake, sleeps):
    settings = XApiSettings(base_url=fake.base_url)
    for token in (None, SecretStr(""), SecretStr("  ")):
        with pytest.raises(SourceError, match="STREAMSIFT_X_BEARER_TOKEN"):
            XApiSource(settings, token, sleep=sleeps)
    assert fake.requests == []


def test_token_never_in_repr_or_logs(fake, sleeps, caplog):
    fake.add_connections(
        Stream([line(tweet(1))], end="drop"),
        Reply(503, {"title": "Service Unavailable"}),
        Reply(429),
        Stream([line({"errors": [{"title": "operational-disconnect"}]}), line(tweet(2))], end="stall"),
    )
    source = make_source(fake, sleeps, max_records=2)
    with caplog.at_level(logging.DEBUG):
        assert len(list(source)) == 2
    source.close()
    assert TOKEN not in repr(source) and TOKEN not in str(source)
    assert "reconnecting" in caplog.text  # reconnects were logged...
    assert TOKEN not in caplog.text  # ...without the token
    assert any(r.name == "streamsift.sources.x_api" for r in caplog.records)


def test_bearer_token_sent_on_every_request(fake, sleeps):
    fake.add_connections(Stream([line(tweet(1))], end="drop"), Stream([line(tweet(2))], end="stall"))
    with make_source(fake, sleeps, max_records=2) as source:
        assert len(list(source)) == 2
    assert len(fake.requests) >= 3  # rules GET (+ POST) and two stream connections
    assert fake.authorization_headers == [f"Bearer {TOKEN}"] * len(fake.requests)


def test_stream_request_fields_and_expansions(fake, sleeps):
    fake.add_connections(Stream([line(tweet(1))], end="stall"))
    with make_source(fake, sleeps, max_records=1) as source:
        list(source)
    (request,) = fake.requests_to("/2/tweets/search/stream")
    assert {k: v[0] for k, v in request.query.items()} == STREAM_PARAMS
    assert set(request.query["tweet.fields"][0].split(",")) >= {
        "created_at",
        "lang",
        "note_tweet",
        "author_id",
    }
    assert request.query["expansions"] == ["author_id,referenced_tweets.id,referenced_tweets.id.author_id"]
    assert request.query["user.fields"] == ["username,name,verified,public_metrics"]


def test_rules_sync_deletes_stale_and_adds_missing(fake, sleeps):
    stale_id = fake.add_rule("cats OR dogs", tag="old")
    kept_id = fake.add_rule("news lang:en", tag="mine")
    source = make_source(fake, sleeps)
    result = source.sync_rules()

    assert fake.rule_values == set(RULES)
    assert kept_id in fake.rules and stale_id not in fake.rules  # the kept rule was not re-created
    posts = [r.json for r in fake.requests_to("/2/tweets/search/stream/rules", "POST")]
    assert posts == [
        {"delete": {"ids": [stale_id]}},
        {"add": [{"value": "AI has:links -is:retweet", "tag": "streamsift"}]},
    ]
    assert (result.added, result.deleted, result.kept) == (
        ["AI has:links -is:retweet"],
        ["cats OR dogs"],
        ["news lang:en"],
    )

    source.sync_rules()  # in sync: nothing more to post
    assert len(fake.requests_to("/2/tweets/search/stream/rules", "POST")) == 2
    source.close()


def test_rule_added_concurrently_is_not_an_error(fake, sleeps):
    """Another process adds the same rule between our GET and POST: X answers DuplicateRule."""
    fake.after_rules_get = lambda: fake.add_rule(RULES[0])
    source = make_source(fake, sleeps)
    source.sync_rules()
    source.close()
    assert fake.rule_values == set(RULES)


def test_invalid_rule_is_refused_with_the_api_reason(fake, sleeps):
    source = make_source(fake, sleeps, rules=["(AI OR ML", "news"])
    with pytest.raises(SourceError, match=r"refused to add.*\(AI OR ML: UnprocessableEntity.*balanced"):
        source.sync_rules()
    source.close()
    assert fake.rule_values == {"news"}


def test_rules_are_synced_once_before_streaming(fake, sleeps):
    fake.add_connections(Stream([line(tweet(1))], end="drop"), Stream([line(tweet(2))], end="stall"))
    with make_source(fake, sleeps, max_records=2) as source:
        list(source)
    assert fake.rule_values == set(RULES)
    assert [r.path for r in fake.requests] == [
        "/2/tweets/search/stream/rules",
        "/2/tweets/search/stream/rules",
        "/2/tweets/search/stream",
        "/2/tweets/search/stream",
    ]


def test_empty_rules_refused_before_touching_existing_ones(fake, sleeps):
    fake.add_rule("keep me")
    source = make_source(fake, sleeps, rules=[])
    with pytest.raises(SourceError, match="rules is empty"):
        source.sync_rules()
    source.close()
    assert fake.rule_values == {"keep me"} and fake.requests == []


def test_stream_error_objects_are_skipped(fake, sleeps, caplog):
    disconnect = {
        "errors": [
            {
                "title": "operational-disconnect",
                "disconnect_type": "UpstreamOperationalDisconnect",
                "detail": "This stream has been disconnected upstream for operational reasons.",
                "type": "https://api.twitter.com/2/problems/operational-disconnect",
            }
        ]
    }
    partial = tweet(3)  # data plus a partial error: a tweet, kept
    partial["errors"] = [{"title": "Not Found Error", "resource_type": "tweet", "value": "42"}]
    fake.add_connections(
        Stream([line(tweet(1)), line(disconnect)], end="close"),
        Stream([line(tweet(2)), line(partial)], end="stall"),
    )
    with (
        caplog.at_level(logging.WARNING, logger="streamsift.sources.x_api"),
        make_source(fake, sleeps, max_records=3) as source,
    ):
        records = list(source)
    assert [r.key for r in records] == [b"1", b"2", b"3"]
    assert records[2].payload == payload(partial)
    assert "UpstreamOperationalDisconnect" in caplog.text
    assert sleeps == [0.25]


def test_last_unterminated_line_of_a_cleanly_ended_stream_is_kept(fake, sleeps):
    fake.add_connections(
        Stream([line(tweet(1)), payload(tweet(2))], end="close"),
        Stream([line(tweet(3))], end="stall"),
    )
    with make_source(fake, sleeps, max_records=3) as source:
        assert [r.key for r in source] == [b"1", b"2", b"3"]
    assert sleeps == [0.25]


def test_malformed_line_is_passed_through(fake, sleeps):
    fake.add_connections(Stream([line(b"not json at all"), line(tweet(1))], end="stall"))
    with make_source(fake, sleeps, max_records=2) as source:
        records = list(source)
    assert [(r.payload, r.key) for r in records] == [(b"not json at all", None), (payload(tweet(1)), b"1")]


def test_max_records_stops_the_iteration(fake, sleeps):
    tweets = [tweet(i) for i in range(1, 6)]
    fake.add_connections(Stream([line(t) for t in tweets], end="stall"))
    started = time.monotonic()
    with make_source(fake, sleeps, max_records=2) as source:
        records = list(source)
    assert [r.key for r in records] == [b"1", b"2"]
    assert time.monotonic() - started < 5  # did not wait for the stalled stream
    assert sleeps == [] and fake.stream_connections == 1


def test_max_reconnects_gives_up(fake, sleeps):
    fake.add_connections(*[Reply(503)] * 4)
    with (
        make_source(fake, sleeps, max_reconnects=3) as source,
        pytest.raises(SourceError, match=r"giving up after 3 reconnect.*HTTP 503"),
    ):
        list(source)
    assert sleeps == [5.0, 10.0, 20.0] and fake.stream_connections == 4


def test_silent_stall_triggers_reconnect(fake, sleeps):
    fake.add_connections(
        Stream([line(tweet(1)), KEEP_ALIVE], end="stall", stall_s=10),
        Stream([line(tweet(2))], end="stall"),
    )
    started = time.monotonic()
    with make_source(fake, sleeps, max_records=2, read_timeout_s=0.3) as source:
        assert [r.key for r in source] == [b"1", b"2"]
    assert time.monotonic() - started < 5
    assert sleeps == [0.25] and fake.stream_connections == 2


def test_unreachable_server_backs_off_linearly(sleeps):
    with FakeXApi(token=TOKEN) as gone:
        base_url = gone.base_url  # a port nobody listens on once stopped
    settings = XApiSettings(base_url=base_url, rules=RULES)
    source = XApiSource(settings, SecretStr(TOKEN), sleep=sleeps, max_reconnects=2)
    with pytest.raises(SourceError, match="cannot reach the X API"):
        source.sync_rules()
    source._rules_synced = True  # skip the rules: exercise the stream's reconnects
    with pytest.raises(SourceError, match=r"giving up after 2 reconnect.*ConnectError"):
        list(source)
    assert sleeps == [0.25, 0.5]
    source.close()


def test_close_closes_the_client(fake, sleeps):
    client = httpx.Client()
    source = XApiSource(XApiSettings(base_url=fake.base_url), SecretStr(TOKEN), sleep=sleeps, client=client)
    source.close()
    assert client.is_closed


def test_fake_reports_unscripted_connections(fake, sleeps):
    """The fake's own guard: a client that reconnects more than scripted hits HTTP 410."""
    with make_source(fake, sleeps) as source, pytest.raises(SourceError, match=r"HTTP 410.*script exhausted"):
        list(source)
    assert fake.rule_values == set(RULES)  # the rules were synced before the stream
