"""Bluesky (Jetstream) and Mastodon posts into the canonical record."""

from __future__ import annotations

import json

import pytest

from streamsift.records import MalformedRecord, extract_tweet_id, parse_payload, platform_id
from streamsift.records.bluesky import normalize_jetstream
from streamsift.records.mastodon import html_to_text, normalize_mastodon

DID = "did:plc:z72i7hdynmk6r22z27h6tvur"


def post(text="LLM agents, a survey", *, rkey="3l3qo2vutsw2b", op="create", **record) -> dict:
    rec = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2024-09-09T19:46:02.102Z", "langs": ["en"]}
    rec.update(record)
    commit = {"rev": "3l3qo2vvo2k2b", "operation": op, "collection": "app.bsky.feed.post", "rkey": rkey}
    if op != "delete":
        commit |= {"cid": "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a", "record": rec}
    return {"did": DID, "time_us": 1725911162329308, "kind": "commit", "commit": commit}


def link(uri: str, start: int = 0, end: int = 5) -> dict:
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


def test_a_bluesky_post_becomes_a_record_with_every_link():
    ev = post(
        "New paper: arxiv.org/abs/2409.0… #NLP",
        facets=[
            link("https://arxiv.org/abs/2409.01234"),
            {
                "index": {"byteStart": 30, "byteEnd": 34},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "NLP"}],
            },
            {
                "index": {"byteStart": 0, "byteEnd": 1},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:x"}],
            },
        ],
        embed={"$type": "app.bsky.embed.external", "external": {"uri": "https://github.com/a/b", "title": "t"}},
    )
    t, raw = parse_payload(json.dumps(ev))
    uri = f"at://{DID}/app.bsky.feed.post/3l3qo2vutsw2b"
    assert t.platform == "bluesky" and t.source_format == "jetstream"
    assert t.post_uri == uri and t.post_cid == ev["commit"]["cid"]
    assert t.tweet_id == platform_id("bluesky", uri) < 0
    assert t.text == "New paper: arxiv.org/abs/2409.0… #NLP"  # the post's own text, shortened link and all
    assert [u.expanded_url for u in t.urls] == ["https://arxiv.org/abs/2409.01234", "https://github.com/a/b"]
    assert [u.domain for u in t.urls] == ["arxiv.org", "github.com"]
    assert t.hashtags == ("NLP",) and t.mentions == ("did:plc:x",)
    assert t.lang == "en" and t.created_at.isoformat() == "2024-09-09T19:46:02.102000+00:00"
    assert t.user_screen_name == DID and not t.is_retweet
    assert json.loads(raw) == ev
    assert extract_tweet_id(json.dumps(ev)) == t.tweet_id


def test_bluesky_replies_quotes_and_media_links_point_at_the_same_ids():
    parent = f"at://{DID}/app.bsky.feed.post/parent"
    quoted = "at://did:plc:other/app.bsky.feed.post/quoted"
    ev = post(
        "replying with a quote",
        reply={"root": {"uri": parent, "cid": "c1"}, "parent": {"uri": parent, "cid": "c1"}},
        embed={
            "$type": "app.bsky.embed.recordWithMedia",
            "record": {"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "c2"}},
            "media": {"$type": "app.bsky.embed.external", "external": {"uri": "https://example.org/x"}},
        },
    )
    t = normalize_jetstream(ev)
    assert t.is_reply and t.in_reply_to_id == platform_id("bluesky", parent)
    assert t.is_quote and t.quoted_id == platform_id("bluesky", quoted)
    assert [u.expanded_url for u in t.urls] == ["https://example.org/x"]
    # the parent, once it arrives itself, has exactly that id
    assert normalize_jetstream(post(rkey="parent")).tweet_id == t.in_reply_to_id


def test_a_link_card_without_text_is_classified_on_its_title():
    ev = post(
        "",
        embed={
            "$type": "app.bsky.embed.external",
            "external": {
                "uri": "https://ai.googleblog.com/x",
                "title": "Scaling laws",
                "description": "for sparse models",
            },
        },
    )
    t = normalize_jetstream(ev)
    assert t.text == "Scaling laws — for sparse models"
    assert t.urls[0].domain == "ai.googleblog.com"


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (post(op="delete"), "not a new Bluesky post: a Jetstream commit delete app.bsky.feed.post"),
        (post(op="update"), "commit update"),
        (
            {"did": DID, "time_us": 1, "kind": "identity", "identity": {"did": DID, "handle": "a.bsky.social"}},
            "identity",
        ),
        ({"did": DID, "time_us": 1, "kind": "account", "account": {"active": False}}, "account"),
        ({"did": DID, "time_us": 1, "kind": "labels"}, "labels"),
        ({**post(), "commit": {**post()["commit"], "collection": "app.bsky.feed.like"}}, "app.bsky.feed.like"),
        ({**post(), "commit": {**post()["commit"], "record": None}}, "without its record"),
        (post("   "), "empty text"),
        ({**post(), "did": ""}, "without its author"),
    ],
)
def test_other_jetstream_events_are_not_posts(event, says):
    with pytest.raises(MalformedRecord, match=says):
        parse_payload(json.dumps(event))


def test_platform_ids_never_take_a_tweets_id():
    ids = {platform_id("bluesky", f"at://did:plc:{i}/app.bsky.feed.post/{i}") for i in range(10_000)}
    assert len(ids) == 10_000 and max(ids) < 0
    assert platform_id("bluesky", "u") != platform_id("mastodon", "u")
    assert platform_id("mastodon", "u") == platform_id("mastodon", "u")


MASTODON_HTML = (
    '<p>Great <a href="https://sigmoid.social/tags/MachineLearning" class="mention hashtag" rel="tag">'
    "#<span>MachineLearning</span></a> read: "
    '<a href="https://example.org/papers/2024/attention" rel="nofollow noopener" target="_blank">'
    '<span class="invisible">https://</span><span class="ellipsis">example.org/papers/2024/</span>'
    '<span class="invisible">attention</span></a> &amp; more<br />second line</p>'
    '<p>cc <span class="h-card"><a href="https://sigmoid.social/@bob" class="u-url mention">@<span>bob</span></a>'
    "</span></p>"
)


def status(**kw) -> dict:
    s = {
        "id": "113000000000000001",
        "uri": "https://sigmoid.social/users/alice/statuses/113000000000000001",
        "url": "https://sigmoid.social/@alice/113000000000000001",
        "created_at": "2024-08-20T10:00:00.000Z",
        "language": "en",
        "content": MASTODON_HTML,
        "spoiler_text": "",
        "account": {"id": "1", "acct": "alice", "display_name": "Alice", "followers_count": 120},
        "tags": [{"name": "MachineLearning"}],
        "mentions": [{"acct": "bob"}],
        "reblog": None,
        "in_reply_to_id": None,
        "card": None,
    }
    s.update(kw)
    return s


def test_mastodon_html_becomes_text_and_links():
    text, links = html_to_text(MASTODON_HTML)
    assert text == "Great #MachineLearning read: example.org/papers/2024/ & more\nsecond line\ncc @bob"
    assert links == ["https://example.org/papers/2024/attention"]  # not the hashtag, not the mention


def test_a_mastodon_status_becomes_a_record():
    t, _raw = parse_payload(json.dumps(status(card={"url": "https://example.org/papers/2024/attention"})))
    assert t.platform == "mastodon" and t.source_format == "mastodon"
    assert t.post_uri == "https://sigmoid.social/users/alice/statuses/113000000000000001"
    assert t.tweet_id == platform_id("mastodon", t.post_uri) < 0
    assert [u.expanded_url for u in t.urls] == ["https://example.org/papers/2024/attention"]  # the card's too, once
    assert t.hashtags == ("MachineLearning",) and t.mentions == ("bob",)
    assert t.user_screen_name == "alice" and t.user_followers_count == 120 and t.lang == "en"


def test_a_boost_is_a_retweet_with_the_boosted_text():
    boosted = status(uri="https://other.social/users/carol/statuses/9", content="<p>LLM evals thread</p>", tags=[])
    t = normalize_mastodon(
        status(uri="https://sigmoid.social/users/alice/statuses/2/activity", content="", reblog=boosted)
    )
    assert t.is_retweet and t.retweeted_id == platform_id("mastodon", boosted["uri"])
    assert t.text == "LLM evals thread"


def test_a_content_warning_is_part_of_the_text_and_empty_statuses_are_malformed():
    t = normalize_mastodon(status(spoiler_text="AI news", content="<p>body</p>"))
    assert t.text == "AI news\nbody"
    with pytest.raises(MalformedRecord, match="empty text"):
        normalize_mastodon(status(content="<p></p>"))
    with pytest.raises(MalformedRecord, match="without its uri"):
        normalize_mastodon(status(uri=None))


def test_hostile_field_values_never_reach_the_database_unclean():
    """NUL characters and non-strings in side fields are cleaned or dropped, not passed to COPY."""
    ev = post(
        "ok",
        langs=["en\x00", 7],
        facets=[{"features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:\x00x"}, "junk", None]}],
        tags=["AI\x00", 5],
    )
    ev["did"] = "did:plc:a\x00b"
    t = normalize_jetstream(ev)
    for value in (t.lang, t.user_screen_name, t.post_uri, *t.mentions, *t.hashtags):
        assert "\x00" not in value
    m = normalize_mastodon(status(mentions=[{"acct": 5}, {"acct": "bob\x00"}], tags=[{"name": 3}]))
    assert m.mentions == ("bob\N{REPLACEMENT CHARACTER}",) or m.mentions == ("bob",)
    assert m.hashtags == ()


def test_unreadable_html_is_a_malformed_record():
    with pytest.raises(MalformedRecord, match="unreadable HTML"):
        normalize_mastodon(status(content="<p>x</p><![foo[ x ]]>"))
