"""The canonical post record, and the normalisers for X API v1.1 and v2 JSON (here), Bluesky
Jetstream commit events (:mod:`.bluesky`) and Mastodon statuses (:mod:`.mastodon`).

Every source (X API stream, file replay, synthetic, Bluesky, Mastodon) puts the post's JSON on
Kafka as delivered; the ingest job and the live classifiers turn each payload into one
:class:`Tweet` with :func:`parse_payload`. The full text (``extended_tweet``, ``note_tweet``, the
retweeted or quoted tweet's full text) and every expanded URL are kept.

Posts of other platforms keep their own id in ``post_uri`` (Bluesky's ``at://`` URI, Mastodon's
ActivityPub URI) and get a negative ``tweet_id`` from it (:func:`platform_id`), so every table keyed
by ``tweet_id`` works unchanged and a post can never take a tweet's id (X ids are positive).

Anything that is not a tweet raises :class:`MalformedRecord` with a reason that
ends up in the ``dead_letters`` table.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from streamsift.errors import StreamsiftError

#: Texts longer than this (characters) are malformed: the longest X post is 25,000.
MAX_TEXT_CHARS = 40_000


class MalformedRecord(StreamsiftError):
    """A payload that cannot become a :class:`Tweet`; ``str(exc)`` is the reason."""


@dataclass(frozen=True, slots=True)
class Url:
    """A link in a tweet: the t.co ``url``, the ``expanded_url`` and its ``domain``."""

    url: str
    expanded_url: str
    domain: str


@dataclass(frozen=True, slots=True)
class Tweet:
    """One tweet in the shape every stage after ingestion uses."""

    tweet_id: int
    text: str
    created_at: datetime | None
    lang: str | None
    user_id: int | None
    user_screen_name: str | None
    user_name: str | None
    user_followers_count: int | None
    user_verified: bool | None
    is_retweet: bool
    is_quote: bool
    is_reply: bool
    retweeted_id: int | None
    quoted_id: int | None
    in_reply_to_id: int | None
    quoted_text: str | None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[Url, ...] = ()
    source_format: str = "v1.1"
    #: ``x``, ``bluesky`` or ``mastodon``.
    platform: str = "x"
    #: The platform's own id of the post (``at://did/app.bsky.feed.post/rkey``; a Mastodon status URI).
    post_uri: str | None = None
    #: Bluesky: the record's CID (a repost names the post by URI and CID).
    post_cid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def expanded_urls(self) -> list[str]:
        return [u.expanded_url for u in self.urls]


# -- small helpers ----------------------------------------------------------------------------
def platform_id(platform: str, uri: str) -> int:
    """The 64-bit id of a post of another platform: negative, from a BLAKE2b hash of
    ``platform:uri``, so it never equals an X id (positive) and the same URI always maps to the same
    id (a reply's parent, a quoted post). Two posts share one with probability ~n²/2⁶⁴
    (about 1 in 1,800 among 100 million stored posts)."""
    h = int.from_bytes(hashlib.blake2b(f"{platform}:{uri}".encode(), digest_size=8).digest(), "big")
    return -(h % (2**63 - 1)) - 1


def _fix_surrogates(value: str) -> str:
    """Join split surrogate pairs and replace lone surrogates with U+FFFD."""
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_text(value: Any) -> str:
    """A string safe for PostgreSQL text: NUL removed, lone surrogates replaced by U+FFFD."""
    if not isinstance(value, str):
        return ""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():  # the common case: no surrogates possible
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _fix_surrogates(value)
    return value


def _opt_str(value: Any) -> str | None:
    return clean_text(value) or None if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one: a wrong-typed optional field counts as absent."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """``value`` if it is an array, else an empty one."""
    return value if isinstance(value, list) else []


def _as_int(value: Any, what: str, *, required: bool = False) -> int | None:
    if value is None or value == "":
        if required:
            raise MalformedRecord(f"missing {what}")
        return None
    if isinstance(value, bool):
        raise MalformedRecord(f"{what} is a boolean, not an id")
    try:
        if isinstance(value, float) and not value.is_integer():  # also NaN and ±inf
            raise ValueError(value)
        out = int(value)
    except (TypeError, ValueError, OverflowError):
        raise MalformedRecord(f"{what} is not an integer: {str(value)[:40]!r}") from None
    if not 0 < out < 2**63:
        if required:
            raise MalformedRecord(f"{what} out of range: {out}")
        return None
    return out


def _opt_int(value: Any) -> int | None:
    """A positive id, or None."""
    try:
        return _as_int(value, "value")
    except MalformedRecord:
        return None


def _opt_count(value: Any) -> int | None:
    """A count (0 allowed, unlike an id), or None."""
    if value == 0 and not isinstance(value, bool):
        return 0
    return _opt_int(value)


_MONTHS = {
    m: i
    for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)
}


def parse_created_at(value: Any) -> datetime | None:
    """v1.1 ``Sun Apr 05 10:46:44 +0000 2020`` or v2 ISO 8601; None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if value[:4].isdigit():
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            p = value.split()
            if len(p) == 6 and p[4] == "+0000" and p[1] in _MONTHS:  # the fast, usual case
                h, m, sec = p[3].split(":")
                return datetime(int(p[5]), _MONTHS[p[1]], int(p[2]), int(h), int(m), int(sec), tzinfo=UTC)
            dt = parsedate_to_datetime(f"{p[0]}, {p[2]} {p[1]} {p[5]} {p[3]} {p[4]}")
    except (ValueError, IndexError, TypeError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def domain_of(url: str) -> str:
    """The host of ``url``, lower-case, without ``www.``, user info or port; "" if there is none."""
    rest = url.strip() if isinstance(url, str) else ""
    # only a real scheme counts: "a.com/?next=https://b.org" is a.com, not b.org
    scheme = _SCHEME.match(rest)
    if scheme:
        rest = rest[scheme.end() :]
    elif rest.startswith("//"):  # scheme-relative
        rest = rest[2:]
    for sep in "/?#":
        cut = rest.find(sep)
        if cut != -1:
            rest = rest[:cut]
    host = rest.rsplit("@", 1)[-1]
    # an IPv6 literal keeps its colons; otherwise drop the port
    host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _urls_from(entities: Any) -> list[Url]:
    """Every link of an entities object; a v2 ``unwound_url`` is kept beside its ``expanded_url``."""
    out = []
    for u in _list(_dict(entities).get("urls")):
        if not isinstance(u, dict):
            continue
        short = _opt_str(u.get("url")) or ""
        expanded = _opt_str(u.get("expanded_url")) or short
        unwound = _opt_str(u.get("unwound_url"))
        for target in (expanded, unwound):
            if target:
                out.append(Url(short, target, domain_of(target)))
    return out


def _tags(entities: Any, key: str, field_names: tuple[str, ...]) -> list[str]:
    out = []
    for item in _list(_dict(entities).get(key)):
        if isinstance(item, dict):
            for f in field_names:
                v = item.get(f)
                if isinstance(v, str) and v:
                    out.append(clean_text(v))
                    break
    return out


def _dedup(items: list[Any]) -> tuple[Any, ...]:
    """Keep the first of each item (URLs compared by expanded URL), in order."""
    seen: set[Any] = set()
    out = []
    for i in items:
        key = i.expanded_url if isinstance(i, Url) else i
        if key not in seen:
            seen.add(key)
            out.append(i)
    return tuple(out)


def _has_text(value: Any) -> bool:
    """A string with something in it (an empty full text falls back to the short one)."""
    return isinstance(value, str) and bool(clean_text(value).strip())


def unescape_entities(text: str) -> str:
    """Undo the three HTML escapes the X API applies to tweet text (``&amp;``, ``&lt;``, ``&gt;``).

    Only these three: a tweet that literally says ``&quot;`` keeps it.
    """
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _check_text(text: str) -> str:
    text = unescape_entities(text)
    if not text.strip():
        raise MalformedRecord("empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise MalformedRecord(f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})")
    return text


# -- X API v1.1 ------------------------------------------------------------------------------
def _v1_full_text(status: dict[str, Any]) -> tuple[str, list[Url], dict[str, Any]]:
    """The untruncated text of a v1.1 status, its URLs and the entities it came with."""
    ext = status.get("extended_tweet")
    if isinstance(ext, dict) and _has_text(ext.get("full_text")):
        entities = _dict(ext.get("entities"))
        return (
            clean_text(ext["full_text"]),
            _urls_from(entities) + _urls_from(status.get("entities")),
            entities,
        )
    text = status.get("full_text") if isinstance(status.get("full_text"), str) else status.get("text")
    entities = _dict(status.get("entities"))
    return clean_text(text), _urls_from(entities), entities


def normalize_v1(d: dict[str, Any]) -> Tweet:
    """Normalise an X API v1.1 status object."""
    for notice in (
        "delete",
        "limit",
        "scrub_geo",
        "status_withheld",
        "user_withheld",
        "disconnect",
        "warning",
    ):
        if notice in d and "id" not in d and "id_str" not in d:
            raise MalformedRecord(f"not a tweet: a stream '{notice}' notice")
    tweet_id = _as_int(d.get("id_str") or d.get("id"), "tweet id", required=True)
    assert tweet_id is not None
    if not isinstance(d.get("text"), str) and not isinstance(d.get("full_text"), str) and "extended_tweet" not in d:
        raise MalformedRecord("missing text")
    text, urls, entities = _v1_full_text(d)
    all_entities = [entities, d.get("entities")]

    rt = d.get("retweeted_status") if isinstance(d.get("retweeted_status"), dict) else None
    qt = d.get("quoted_status") if isinstance(d.get("quoted_status"), dict) else None
    quoted_text = None
    if rt is not None:
        rt_text, rt_urls, rt_entities = _v1_full_text(rt)
        rt_user = _opt_str(_dict(rt.get("user")).get("screen_name"))
        if rt_text:
            text = f"RT @{rt_user}: {rt_text}" if rt_user else rt_text
        urls += rt_urls
        all_entities.append(rt_entities)
        rt_qt = rt.get("quoted_status")
        if isinstance(rt_qt, dict):
            if qt is None:
                qt = rt_qt
            elif rt_qt is not qt:  # keep its links too, should it differ from the top-level one
                urls += _v1_full_text(rt_qt)[1]
    if qt is not None:
        quoted_text, qt_urls, _ = _v1_full_text(qt)
        quoted_text = quoted_text or None
        urls += qt_urls
    user = _dict(d.get("user"))
    in_reply_to_id = _opt_int(d.get("in_reply_to_status_id_str") or d.get("in_reply_to_status_id"))
    hashtags: list[str] = []
    mentions: list[str] = []
    for ent in all_entities:
        hashtags += _tags(ent, "hashtags", ("text", "tag"))
        mentions += _tags(ent, "user_mentions", ("screen_name",))
    return Tweet(
        tweet_id=tweet_id,
        text=_check_text(text),
        created_at=parse_created_at(d.get("created_at")),
        lang=_opt_str(d.get("lang")),
        user_id=_opt_int(user.get("id_str") or user.get("id")),
        user_screen_name=_opt_str(user.get("screen_name")),
        user_name=_opt_str(user.get("name")),
        user_followers_count=_opt_count(user.get("followers_count")),
        user_verified=user.get("verified") if isinstance(user.get("verified"), bool) else None,
        is_retweet=rt is not None,
        is_quote=d.get("is_quote_status") is True or qt is not None,
        is_reply=in_reply_to_id is not None,
        retweeted_id=_opt_int(rt.get("id_str") or rt.get("id")) if rt else None,
        quoted_id=_opt_int(d.get("quoted_status_id_str") or d.get("quoted_status_id"))
        or (_opt_int(qt.get("id_str") or qt.get("id")) if qt else None),
        in_reply_to_id=in_reply_to_id,
        quoted_text=unescape_entities(quoted_text) if quoted_text else None,
        hashtags=_dedup(hashtags),
        mentions=_dedup(mentions),
        urls=_dedup(urls),
        source_format="v1.1",
    )


# -- X API v2 ----------------------------------------------------------------------------------
def _v2_full_text(t: dict[str, Any]) -> tuple[str, list[Url], list[dict[str, Any]]]:
    """The untruncated text of a v2 tweet (``note_tweet`` first), its URLs and its entities."""
    entities = _dict(t.get("entities"))
    note = t.get("note_tweet")
    if isinstance(note, dict) and _has_text(note.get("text")):
        note_entities = _dict(note.get("entities"))
        # the long text's entities first, then the truncated text's (whose links it repeats)
        return (
            clean_text(note["text"]),
            _urls_from(note_entities) + _urls_from(entities),
            [note_entities, entities],
        )
    return clean_text(t.get("text")), _urls_from(entities), [entities]


#: The ``data`` keys of X API v2 compliance-stream events (which carry no tweet).
_V2_COMPLIANCE_EVENTS = (
    "delete",
    "withheld",
    "drop",
    "undrop",
    "scrub_geo",
    "user_delete",
    "user_undelete",
    "user_protect",
    "user_unprotect",
    "user_suspend",
    "user_unsuspend",
    "user_withheld",
    "user_profile_modification",
)


def normalize_v2(envelope: dict[str, Any]) -> Tweet:
    """Normalise an X API v2 stream message (``data`` + ``includes``) or a bare v2 tweet."""
    if "data" in envelope:
        data = envelope["data"]
        includes = _dict(envelope.get("includes"))
    else:
        data, includes = envelope, {}
    if not isinstance(data, dict):
        raise MalformedRecord("v2 'data' is not an object")
    if "id" not in data:
        for event in _V2_COMPLIANCE_EVENTS:
            if event in data:
                raise MalformedRecord(f"not a tweet: a v2 '{event}' compliance event")
    tweet_id = _as_int(data.get("id"), "tweet id", required=True)
    assert tweet_id is not None
    if not isinstance(data.get("text"), str) and not isinstance(data.get("note_tweet"), dict):
        raise MalformedRecord("missing text")
    users = {str(u.get("id")): u for u in _list(includes.get("users")) if isinstance(u, dict)}
    tweets = {str(t.get("id")): t for t in _list(includes.get("tweets")) if isinstance(t, dict)}
    text, urls, all_entities = _v2_full_text(data)
    refs = {
        r["type"]: str(r.get("id"))
        for r in _list(data.get("referenced_tweets"))
        if isinstance(r, dict) and isinstance(r.get("type"), str)
    }
    rt_id, qt_id, reply_id = refs.get("retweeted"), refs.get("quoted"), refs.get("replied_to")
    quoted_text = None
    if rt_id and rt_id in tweets:
        rt = tweets[rt_id]
        rt_text, rt_urls, rt_entities = _v2_full_text(rt)
        rt_user = _opt_str(_dict(users.get(str(rt.get("author_id")))).get("username"))
        if rt_text:
            text = f"RT @{rt_user}: {rt_text}" if rt_user else rt_text
        urls += rt_urls
        all_entities += rt_entities
    if qt_id and qt_id in tweets:
        quoted_text, qt_urls, _ = _v2_full_text(tweets[qt_id])
        quoted_text = quoted_text or None
        urls += qt_urls
    author = _dict(users.get(str(data.get("author_id"))))
    metrics = _dict(author.get("public_metrics"))
    hashtags: list[str] = []
    mentions: list[str] = []
    for ent in all_entities:
        hashtags += _tags(ent, "hashtags", ("tag", "text"))
        mentions += _tags(ent, "mentions", ("username",))
    return Tweet(
        tweet_id=tweet_id,
        text=_check_text(text),
        created_at=parse_created_at(data.get("created_at")),
        lang=_opt_str(data.get("lang")),
        user_id=_opt_int(data.get("author_id")),
        user_screen_name=_opt_str(author.get("username")),
        user_name=_opt_str(author.get("name")),
        user_followers_count=_opt_count(metrics.get("followers_count")),
        user_verified=author.get("verified") if isinstance(author.get("verified"), bool) else None,
        is_retweet=rt_id is not None,
        is_quote=qt_id is not None,
        is_reply=reply_id is not None,
        retweeted_id=_opt_int(rt_id),
        quoted_id=_opt_int(qt_id),
        in_reply_to_id=_opt_int(reply_id),
        quoted_text=unescape_entities(quoted_text) if quoted_text else None,
        hashtags=_dedup(hashtags),
        mentions=_dedup(mentions),
        urls=_dedup(urls),
        source_format="v2",
    )


def is_v2(d: dict[str, Any]) -> bool:
    """v2 messages wrap the tweet in ``data``, or carry ``author_id`` / ``edit_history_tweet_ids``."""
    return isinstance(d.get("data"), dict) or (
        "id_str" not in d and ("author_id" in d or "edit_history_tweet_ids" in d)
    )


def normalize(d: Any) -> Tweet:
    """Normalise a decoded X API v1.1 or v2 object, Jetstream event or Mastodon status into a :class:`Tweet`."""
    if not isinstance(d, dict):
        raise MalformedRecord(f"not a JSON object but a {type(d).__name__}")
    if "kind" in d and "did" in d:
        from streamsift.records.bluesky import normalize_jetstream

        return _guarded(normalize_jetstream, d)
    if "content" in d and "account" in d and "uri" in d:
        from streamsift.records.mastodon import normalize_mastodon

        return _guarded(normalize_mastodon, d)
    if "errors" in d and not any(k in d for k in ("data", "id", "id_str")):
        first = _dict(next(iter(_list(d["errors"])), None))
        what = _opt_str(first.get("title")) or _opt_str(first.get("message")) or "no details"
        raise MalformedRecord(f"not a tweet: an X API v2 error message ({what[:120]})")
    return _guarded(normalize_v2 if is_v2(d) else normalize_v1, d)


#: What a normaliser raises on a shape nobody foresaw (a dead letter, never a crash).
_UNFORESEEN = (AttributeError, TypeError, KeyError, ValueError, IndexError, OverflowError)


def _guarded(fn, d: dict[str, Any]) -> Tweet:
    try:
        return fn(d)
    except MalformedRecord:
        raise
    except _UNFORESEEN as exc:
        # shapes we did not foresee
        raise MalformedRecord(f"unexpected structure: {type(exc).__name__}: {exc}"[:300]) from exc


# JSON string escapes, matched left to right so an escaped backslash is never read as the
# start of another escape.
_JSON_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"  # a surrogate pair
    r"|\\u([0-9a-fA-F]{4})"  # any other \\uXXXX
    r"|\\.",  # \\\\, \\", \\n, ...
    re.DOTALL,
)


def _jsonb_escape(m: re.Match[str]) -> str:
    code = m.group(2)
    if code is not None:
        cp = int(code, 16)
        if cp == 0 or 0xD800 <= cp <= 0xDFFF:  # NUL, or a surrogate without its partner
            return "\\ufffd"
    return m.group(0)


def _jsonb_safe(text: str) -> str:
    """JSON text PostgreSQL's jsonb accepts: no \\u0000, no lone surrogates (escaped or not)."""
    text = _JSON_ESCAPE.sub(_jsonb_escape, text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _fix_surrogates(text)
    return text


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def parse_payload(payload: bytes | str | None) -> tuple[Tweet, bytes]:
    """Decode a Kafka payload into a :class:`Tweet` and the JSON to keep as ``raw`` (UTF-8 bytes:
    the payload itself, unless it carries NUL or lone-surrogate escapes ``jsonb`` would refuse).

    v1.1 statuses take the schema-decoding fast path (:mod:`.v1_fast`); whatever it declines, and
    every other shape, goes through :func:`normalize` (the reference).
    """
    if payload is None or len(payload) == 0:
        raise MalformedRecord("empty payload")
    if not isinstance(payload, str):
        data = bytes(payload)
        if data.isascii() or _is_utf8(data):
            tweet = None
            # an X API v2 envelope is no v1.1 status: not decoded twice
            if not data.startswith(_V2_ENVELOPE):
                try:
                    tweet = normalize_v1_fast(data)
                except (MalformedRecord, *_UNFORESEEN):
                    tweet = None  # the reference path below gives the verdict and its reason
            if tweet is None:
                try:
                    obj = orjson.loads(data)
                except orjson.JSONDecodeError:
                    obj = None  # lone surrogates or invalid JSON: the reference path below
                if obj is not None:
                    tweet = normalize(obj)
            if tweet is not None:  # valid UTF-8 JSON: kept as it came, unless jsonb would refuse it
                return tweet, data if b"\\u0000" not in data else _jsonb_safe(data.decode()).encode()
    tweet, text = _parse_reference(payload)
    return tweet, text.encode()


_V2_ENVELOPE = b'{"data":'


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_reference(payload: bytes | str) -> tuple[Tweet, str]:
    if isinstance(payload, bytes | bytearray | memoryview):
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedRecord(f"payload is not UTF-8: {exc.reason} at byte {exc.start}") from None
    else:
        text = payload
    fallback = False
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses lone surrogates that real tweets sometimes carry; the stdlib
        # parser accepts them (clean_text replaces them) and words its errors better.
        # NaN and Infinity are not JSON (and jsonb refuses them): the stdlib must not accept them.
        fallback = True
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise MalformedRecord(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except _NonFinite as exc:
            raise MalformedRecord(f"invalid JSON: {exc} is not a JSON value") from None
        except RecursionError:
            raise MalformedRecord("invalid JSON: nested too deeply") from None
    tweet = normalize(obj)
    # valid JSON, but PostgreSQL's jsonb refuses NUL characters and lone surrogates
    if fallback or "\\u0000" in text:
        text = _jsonb_safe(text)
    return tweet, text


def extract_tweet_id(payload: bytes | str) -> int | None:
    """The tweet id of a payload, for the Kafka message key; None when there is none."""
    if isinstance(payload, bytes):
        tweet_id = v1_tweet_id(payload)  # a v1.1 status: only its ids are parsed
        if tweet_id is not DECLINED:
            return tweet_id  # type: ignore[return-value]
    try:
        obj = orjson.loads(payload)
        if isinstance(obj, dict):
            if "kind" in obj and "did" in obj:
                from streamsift.records.bluesky import jetstream_post_uri

                uri = jetstream_post_uri(obj)
                return platform_id("bluesky", uri) if uri else None
            if "content" in obj and "account" in obj and isinstance(obj.get("uri"), str):
                return platform_id("mastodon", obj["uri"])
            data = obj.get("data") if isinstance(obj.get("data"), dict) else obj
            return _opt_int(data.get("id_str") or data.get("id"))
    except (ValueError, TypeError):
        return None
    return None


# the fast path imports this module's helpers: it is imported once they exist
from streamsift.records.v1_fast import DECLINED, normalize_v1_fast, v1_tweet_id  # noqa: E402

__all__ = [
    "MAX_TEXT_CHARS",
    "MalformedRecord",
    "Tweet",
    "Url",
    "clean_text",
    "domain_of",
    "extract_tweet_id",
    "normalize",
    "normalize_v1",
    "normalize_v2",
    "parse_created_at",
    "parse_payload",
    "platform_id",
    "unescape_entities",
]
