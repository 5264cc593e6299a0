"""The ingest hot path for X API v1.1 statuses: decode only what the canonical record uses.

A real v1.1 tweet is ~6.4 KB of JSON, most of it fields no stage reads (the user's profile colours and
images, media sizes, places, ...). Parsing it all into dicts and walking them field by field in Python
was most of ingest's cost (see "Ingest hot path" in docs/benchmarks.md). Here `msgspec
<https://jcristharif.com/msgspec/>`_ decodes the payload against a schema of just the needed fields:
the rest is skipped in C, the types are checked in C, and the result is compact structs instead of
dicts.

:func:`streamsift.records.normalize_v1` stays the reference. This path gives the same :class:`Tweet`
for every status it accepts (``tests/unit/test_records_fast.py`` compares the two on every fixture and
on synthetic streams), and declines — returns ``None`` — whatever its schema can't express, which then
goes the reference way: a field of an unexpected type, a stream notice, v2 / Bluesky / Mastodon
payloads, invalid JSON, surrogate escapes (so the ``raw`` kept is always valid for ``jsonb``).
"""

from __future__ import annotations

import re

import msgspec

from streamsift.records import (
    Tweet,
    Url,
    _as_int,
    _check_text,
    _dedup,
    _opt_count,
    _opt_int,
    clean_text,
    domain_of,
    parse_created_at,
    unescape_entities,
)

_UNSET = msgspec.UNSET


class _UrlEntity(msgspec.Struct, gc=False):
    url: str | None = None
    expanded_url: str | None = None
    unwound_url: str | None = None


class _Hashtag(msgspec.Struct, gc=False):
    text: str | None = None
    tag: str | None = None


class _Mention(msgspec.Struct, gc=False):
    screen_name: str | None = None


class _Entities(msgspec.Struct, gc=False):
    hashtags: list[_Hashtag] | None = None
    urls: list[_UrlEntity] | None = None
    user_mentions: list[_Mention] | None = None


class _Extended(msgspec.Struct, gc=False):
    full_text: str | None = None
    entities: _Entities | None = None


class _User(msgspec.Struct, gc=False):
    id: int | None = None
    id_str: str | None = None
    screen_name: str | None = None
    name: str | None = None
    followers_count: int | None = None
    verified: bool | None = None


class _Status(msgspec.Struct, gc=False):
    id: int | None = None
    id_str: str | None = None
    text: str | None = None
    full_text: str | None = None
    extended_tweet: _Extended | None = None
    entities: _Entities | None = None
    created_at: str | None = None
    lang: str | None = None
    user: _User | None = None
    in_reply_to_status_id: int | None = None
    in_reply_to_status_id_str: str | None = None
    is_quote_status: bool | None = None
    quoted_status_id: int | None = None
    quoted_status_id_str: str | None = None
    retweeted_status: _Status | None = None
    quoted_status: _Status | None = None
    # Present in payloads that are not v1.1 statuses (v2 envelopes, Jetstream events, Mastodon
    # statuses, API errors): their presence alone sends the payload the reference way. Raw: not decoded.
    data: msgspec.Raw | msgspec.UnsetType = _UNSET
    kind: msgspec.Raw | msgspec.UnsetType = _UNSET
    content: msgspec.Raw | msgspec.UnsetType = _UNSET
    errors: msgspec.Raw | msgspec.UnsetType = _UNSET
    author_id: msgspec.Raw | msgspec.UnsetType = _UNSET


_DECODER = msgspec.json.Decoder(_Status)


class _KeyProbe(msgspec.Struct, gc=False):
    """Just enough of a payload to key it in Kafka: the rest is skipped unparsed."""

    id: int | str | None = None
    id_str: str | None = None
    data: msgspec.Raw | msgspec.UnsetType = _UNSET
    kind: msgspec.Raw | msgspec.UnsetType = _UNSET
    content: msgspec.Raw | msgspec.UnsetType = _UNSET


_KEY_DECODER = msgspec.json.Decoder(_KeyProbe)
#: What :func:`v1_tweet_id` answers for a payload it leaves to the reference.
DECLINED = object()


#: How the X API starts every v1.1 status: ``{"created_at": "…", "id": N, "id_str": "N", …``. When a
#: payload starts so, these are members of the top-level object: its id is read without parsing on.
_V1_HEAD = re.compile(rb'\{\s*"created_at"\s*:\s*"[^"\\]*"\s*,\s*"id"\s*:\s*\d+\s*,\s*"id_str"\s*:\s*"(\d+)"')


def v1_tweet_id(payload: bytes) -> int | object | None:
    """The tweet id of a v1.1 status payload (None: it has none, as :func:`extract_tweet_id` says)
    or :data:`DECLINED` for other shapes. Used by the producer to key records without parsing the
    whole payload: a status as the API delivers it is keyed from its first 100 bytes, anything else
    from a schema probe of its ids. A payload broken further on (not UTF-8, not JSON) may still get
    its key; ingest dead-letters it either way."""
    head = _V1_HEAD.match(payload)
    if head is not None:
        return _opt_int(head.group(1).decode())
    try:
        probe = _KEY_DECODER.decode(payload)
    except msgspec.DecodeError:
        return DECLINED
    if probe.data is not _UNSET or probe.kind is not _UNSET or probe.content is not _UNSET:
        return DECLINED
    return _opt_int(probe.id_str or probe.id)


#: ``\\uD800``-``\\uDFFF``: a surrogate escape, paired or lone (the reference path sorts them out).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _urls(entities: _Entities | None) -> list[Url]:
    out: list[Url] = []
    if entities is None or not entities.urls:
        return out
    for u in entities.urls:
        short = clean_text(u.url) if u.url is not None else ""
        expanded = (clean_text(u.expanded_url) if u.expanded_url is not None else "") or short
        unwound = clean_text(u.unwound_url) if u.unwound_url is not None else ""
        if expanded:
            out.append(Url(short, expanded, domain_of(expanded)))
        if unwound:
            out.append(Url(short, unwound, domain_of(unwound)))
    return out


def _full_text(status: _Status) -> tuple[str, list[Url], _Entities | None]:
    """:func:`streamsift.records._v1_full_text` over the schema's structs."""
    ext = status.extended_tweet
    if ext is not None and ext.full_text is not None:
        full = clean_text(ext.full_text)
        if full.strip():
            return full, _urls(ext.entities) + _urls(status.entities), ext.entities
    text = status.full_text if status.full_text is not None else status.text
    return clean_text(text), _urls(status.entities), status.entities


def _tags(entities: list[_Entities | None]) -> tuple[list[str], list[str]]:
    hashtags: list[str] = []
    mentions: list[str] = []
    for ent in entities:
        if ent is None:
            continue
        for h in ent.hashtags or ():
            v = h.text or h.tag
            if v:
                hashtags.append(clean_text(v))
        for m in ent.user_mentions or ():
            if m.screen_name:
                mentions.append(clean_text(m.screen_name))
    return hashtags, mentions


def _str_or_none(value: str | None) -> str | None:
    return (clean_text(value) or None) if value is not None else None


def normalize_v1_fast(payload: bytes) -> Tweet | None:
    """The :class:`Tweet` of a v1.1 status payload, or None: not for this path (see the module)."""
    if _SURROGATE_ESCAPE.search(payload):
        return None
    try:
        d = _DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):  # ValidationError is a DecodeError too
        return None
    if (
        not d.id_str
        or d.data is not _UNSET
        or d.kind is not _UNSET
        or d.content is not _UNSET
        or d.errors is not _UNSET
        or (d.text is None and d.full_text is None and d.extended_tweet is None)
    ):
        return None
    tweet_id = _as_int(d.id_str, "tweet id", required=True)
    text, urls, entities = _full_text(d)
    all_entities = [entities, d.entities]
    rt, qt = d.retweeted_status, d.quoted_status
    if rt is not None:
        rt_text, rt_urls, rt_entities = _full_text(rt)
        rt_user = _str_or_none(rt.user.screen_name) if rt.user is not None else None
        if rt_text:
            text = f"RT @{rt_user}: {rt_text}" if rt_user else rt_text
        urls += rt_urls
        all_entities.append(rt_entities)
        if rt.quoted_status is not None:
            if qt is None:
                qt = rt.quoted_status
            else:  # keep its links too, should it differ from the top-level one
                urls += _full_text(rt.quoted_status)[1]
    quoted_text = None
    if qt is not None:
        quoted_text, qt_urls, _ = _full_text(qt)
        urls += qt_urls
    hashtags, mentions = _tags(all_entities)
    user = d.user
    in_reply_to_id = _opt_int(d.in_reply_to_status_id_str or d.in_reply_to_status_id)
    assert tweet_id is not None
    return Tweet(
        tweet_id=tweet_id,
        text=_check_text(text),
        created_at=parse_created_at(d.created_at),
        lang=_str_or_none(d.lang),
        user_id=_opt_int(user.id_str or user.id) if user is not None else None,
        user_screen_name=_str_or_none(user.screen_name) if user is not None else None,
        user_name=_str_or_none(user.name) if user is not None else None,
        user_followers_count=_opt_count(user.followers_count) if user is not None else None,
        user_verified=user.verified if user is not None else None,
        is_retweet=rt is not None,
        is_quote=d.is_quote_status is True or qt is not None,
        is_reply=in_reply_to_id is not None,
        retweeted_id=_opt_int(rt.id_str or rt.id) if rt is not None else None,
        quoted_id=_opt_int(d.quoted_status_id_str or d.quoted_status_id)
        or (_opt_int(qt.id_str or qt.id) if qt is not None else None),
        in_reply_to_id=in_reply_to_id,
        quoted_text=unescape_entities(quoted_text) if quoted_text else None,
        hashtags=_dedup(hashtags),
        mentions=_dedup(mentions),
        urls=_dedup(urls),
        source_format="v1.1",
    )


__all__ = ["DECLINED", "normalize_v1_fast", "v1_tweet_id"]
