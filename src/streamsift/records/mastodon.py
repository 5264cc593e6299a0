"""Mastodon statuses (from the streaming API's ``update`` events) into the canonical
:class:`~streamsift.records.Tweet`.

A status's ``content`` is HTML: it becomes plain text (paragraphs and line breaks kept as new
lines, tags dropped, entities decoded) and its links (every ``<a href>`` that is not a mention or a
hashtag link). A boost (``reblog``) is a retweet of the boosted status, with that status's text and
links, like an X retweet. The id is the status's ActivityPub ``uri`` (the same on every instance).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from streamsift.records import (
    MAX_TEXT_CHARS,
    MalformedRecord,
    Tweet,
    Url,
    _dedup,
    _dict,
    _list,
    _opt_count,
    _opt_str,
    clean_text,
    domain_of,
    parse_created_at,
    platform_id,
)

PLATFORM = "mastodon"
_BLOCKS = {"p", "br", "li", "blockquote", "pre", "div"}


class _Content(HTMLParser):
    """Text and links of a status's HTML ``content``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._invisible = 0  # Mastodon hides the middle of long URLs in <span class="invisible">

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag in _BLOCKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")
        if tag == "a":
            href = a.get("href") or ""
            rel = set((a.get("rel") or "").split())
            mention_or_tag = {"mention", "hashtag", "u-url"} & classes or "tag" in rel
            if href.startswith(("http://", "https://")) and not mention_or_tag:
                self.links.append(href)
        if tag == "span" and "invisible" in classes:
            self._invisible += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._invisible:
            self._invisible -= 1

    def handle_data(self, data: str) -> None:
        if not self._invisible:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Plain text and links of Mastodon HTML (:class:`MalformedRecord` if the parser gives up)."""
    parser = _Content()
    try:
        parser.feed(html)
        parser.close()
    except Exception as exc:  # html.parser raises AssertionError on some markup
        raise MalformedRecord(f"unreadable HTML content: {type(exc).__name__}: {exc}"[:200]) from exc
    text = "".join(parser.parts)
    return "\n".join(line.strip() for line in text.split("\n")).strip(), parser.links


def normalize_mastodon(status: dict[str, Any]) -> Tweet:
    """A Mastodon Status entity → :class:`Tweet`."""
    uri = _opt_str(status.get("uri"))
    if not uri:
        raise MalformedRecord("a Mastodon status without its uri")
    boosted = _dict(status.get("reblog"))
    shown = boosted or status  # a boost shows the boosted status
    content = shown.get("content")
    if not isinstance(content, str):
        raise MalformedRecord("a Mastodon status without HTML content")
    text, links = html_to_text(content)
    text = clean_text(text)
    spoiler = clean_text(shown.get("spoiler_text"))
    if spoiler.strip():
        text = f"{spoiler}\n{text}".strip()
    card = _dict(shown.get("card"))
    if isinstance(card.get("url"), str):
        links.append(card["url"])
    if not text.strip():
        raise MalformedRecord("empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise MalformedRecord(f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})")
    account = _dict(status.get("account"))
    boosted_uri = _opt_str(boosted.get("uri"))
    urls = [Url(u, u, domain_of(u)) for u in (clean_text(x).strip() for x in links) if u]
    return Tweet(
        tweet_id=platform_id(PLATFORM, uri),
        text=text,
        created_at=parse_created_at(status.get("created_at")),
        lang=_opt_str(shown.get("language")),
        user_id=None,  # account ids are local to an instance
        user_screen_name=_opt_str(account.get("acct")),
        user_name=_opt_str(account.get("display_name")),
        user_followers_count=_opt_count(account.get("followers_count")),
        user_verified=None,
        is_retweet=bool(boosted),
        is_quote=False,
        is_reply=shown.get("in_reply_to_id") is not None,
        retweeted_id=platform_id(PLATFORM, boosted_uri) if boosted_uri else None,
        quoted_id=None,
        in_reply_to_id=None,  # a local id of the instance, not the parent's uri
        quoted_text=None,
        hashtags=_dedup([n for n in (_opt_str(t.get("name")) for t in map(_dict, _list(shown.get("tags")))) if n]),
        mentions=_dedup([a for a in (_opt_str(m.get("acct")) for m in map(_dict, _list(shown.get("mentions")))) if a]),
        urls=_dedup(urls),
        source_format="mastodon",
        platform=PLATFORM,
        post_uri=uri,
    )
