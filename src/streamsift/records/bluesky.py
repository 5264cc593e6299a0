"""Bluesky posts, as Jetstream delivers them, into the canonical :class:`~streamsift.records.Tweet`.

A Jetstream ``commit`` event that creates an ``app.bsky.feed.post`` record becomes one record:
the post's text (or, for a link card without text, the card's title and description), every link
(``#link`` facet URIs — the full URL even where the visible text is shortened — ``embed.external.uri``
and, inside ``recordWithMedia``, ``embed.media.external.uri``), ``#tag`` facets and ``tags`` as
hashtags, ``#mention`` facets as mentions (DIDs), the first of ``langs``, ``createdAt``, the author's
DID (a commit event carries no handle), reply and quote links, the post's at-URI and CID.
Every other event (deletes, updates, identity, account, other collections) is not a post.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streamsift.records import (
    MAX_TEXT_CHARS,
    MalformedRecord,
    Tweet,
    Url,
    _dedup,
    _dict,
    _list,
    _opt_str,
    clean_text,
    domain_of,
    parse_created_at,
    platform_id,
)

POST = "app.bsky.feed.post"
PLATFORM = "bluesky"


def jetstream_post_uri(event: dict[str, Any]) -> str | None:
    """``at://{did}/app.bsky.feed.post/{rkey}`` of a commit event on a post (None for other events)."""
    commit = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(commit, dict) or commit.get("collection") != POST:
        return None
    did, rkey = event.get("did"), commit.get("rkey")
    if not (isinstance(did, str) and did and isinstance(rkey, str) and rkey):
        return None
    return clean_text(f"at://{did}/{POST}/{rkey}")


def is_post_create(event: dict[str, Any]) -> bool:
    """A commit creating a post: the only Jetstream event that becomes a record."""
    commit = event.get("commit")
    return (
        event.get("kind") == "commit"
        and isinstance(commit, dict)
        and commit.get("operation") == "create"
        and commit.get("collection") == POST
    )


def _ref_id(ref: Any) -> int | None:
    uri = _dict(ref).get("uri")
    return platform_id(PLATFORM, uri) if isinstance(uri, str) and uri else None


def _links(record: dict[str, Any]) -> tuple[list[Url], list[str], list[str]]:
    """Links, hashtags and mentions from the facets (and the embed's external card)."""
    links: list[str] = []
    tags: list[str] = []
    mentions: list[str] = []
    for facet in _list(record.get("facets")):
        for feat in _list(_dict(facet).get("features")):
            feat = _dict(feat)
            kind = feat.get("$type")
            if kind == "app.bsky.richtext.facet#link" and isinstance(feat.get("uri"), str):
                links.append(feat["uri"])
            elif kind == "app.bsky.richtext.facet#tag" and isinstance(feat.get("tag"), str):
                tags.append(clean_text(feat["tag"]))  # clean_text: no NUL or lone surrogate reaches COPY
            elif kind == "app.bsky.richtext.facet#mention" and isinstance(feat.get("did"), str):
                mentions.append(clean_text(feat["did"]))
    tags += [clean_text(t) for t in _list(record.get("tags")) if isinstance(t, str) and t.strip()]
    embed = _dict(record.get("embed"))
    for ext in (_dict(embed.get("external")), _dict(_dict(embed.get("media")).get("external"))):
        if isinstance(ext.get("uri"), str):
            links.append(ext["uri"])
    urls = [Url(u, u, domain_of(u)) for u in (clean_text(x).strip() for x in links) if u]
    return urls, tags, mentions


def _quoted(embed: dict[str, Any]) -> Any:
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        return embed.get("record")
    if kind == "app.bsky.embed.recordWithMedia":
        return _dict(embed.get("record")).get("record")
    return None


def normalize_jetstream(event: dict[str, Any]) -> Tweet:
    """A Jetstream event that creates a post → :class:`Tweet`; anything else → :class:`MalformedRecord`."""
    if not is_post_create(event):
        commit = _dict(event.get("commit"))
        what = f"{event.get('kind')} {commit.get('operation', '')} {commit.get('collection', '')}".strip()
        raise MalformedRecord(f"not a new Bluesky post: a Jetstream {what[:80]} event")
    uri = jetstream_post_uri(event)
    if uri is None:
        raise MalformedRecord("a Bluesky post without its author's DID or record key")
    commit = event["commit"]
    record = commit.get("record")
    if not isinstance(record, dict):
        raise MalformedRecord("a Bluesky post commit without its record")
    urls, tags, mentions = _links(record)
    embed = _dict(record.get("embed"))
    text = clean_text(record.get("text"))
    if not text.strip():  # a link card alone: its title and description are what it says
        card = _dict(embed.get("external")) or _dict(_dict(embed.get("media")).get("external"))
        text = " — ".join(clean_text(card.get(k)) for k in ("title", "description") if _opt_str(card.get(k)))
    if not text.strip():
        raise MalformedRecord("empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise MalformedRecord(f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})")
    created = parse_created_at(record.get("createdAt"))
    if created is None and isinstance(event.get("time_us"), int):
        created = datetime.fromtimestamp(event["time_us"] / 1e6, tz=UTC)
    langs = [clean_text(x) for x in _list(record.get("langs")) if isinstance(x, str) and x.strip()]
    reply = _dict(record.get("reply"))
    quoted = _quoted(embed)
    did = clean_text(event["did"])
    return Tweet(
        tweet_id=platform_id(PLATFORM, uri),
        text=text,
        created_at=created,
        lang=langs[0] if langs else None,
        user_id=None,
        user_screen_name=did,
        user_name=None,
        user_followers_count=None,
        user_verified=None,
        is_retweet=False,  # reposts are app.bsky.feed.repost records, not posts
        is_quote=quoted is not None,
        is_reply=bool(reply),
        retweeted_id=None,
        quoted_id=_ref_id(quoted),
        in_reply_to_id=_ref_id(reply.get("parent")),
        quoted_text=None,
        hashtags=_dedup(tags),
        mentions=_dedup(mentions),
        urls=_dedup(urls),
        source_format="jetstream",
        platform=PLATFORM,
        post_uri=uri,
        post_cid=_opt_str(commit.get("cid")),
    )
