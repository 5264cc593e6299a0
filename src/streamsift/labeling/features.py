"""What the labeling functions look at, computed once per tweet.

The original project's matching had two bugs these features avoid:

* it stripped ``#`` from the tweet but not from its keywords, so ``#AI`` never
  matched ``#AI``; here hashtags are split into words (``#MachineLearning`` →
  ``machine learning``, ``#100DaysOfMLCode`` → ``100 days of ml code``) and
  searched like the rest of the text;
* it matched word pairs inside longer words; here every keyword is matched on
  word boundaries (``ai`` is not in "said" or "Hawaii", ``ml`` not in "html").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streamsift.records import domain_of

# A t.co link is exactly ten characters after the slash: real texts glue what follows
# ("https://t.co/AbCdEfGh12#IoT"), and that hashtag must survive. Other links end at
# white space or where a second link starts.
_URL = re.compile(
    r"https?://t\.co/(?:[A-Za-z0-9]{10}|[A-Za-z0-9]*)"
    r"|https?://(?:(?!https?://)\S)+"
    r"|\bwww\.(?:(?!https?://)\S)+",
    re.IGNORECASE,
)
# a bare "arxiv.org/abs/2004.01234" (X links it without a scheme): a host with a common TLD and a path
_BARE_LINK = re.compile(
    r"(?<![\w@./-])(?:[a-z0-9-]+\.)+(?:com|org|net|io|ai|co|pub|cc|edu|gov|dev|app|me|ly|gl|be|google)"
    r"/[^\s#]*",
    re.IGNORECASE,
)
_HOST = re.compile(r"[\w.-]+")
_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"(?<!\w)@(\w+)")  # not the "@" of an e-mail address
# French/Italian elision: "l'IA" -> "l' IA", "d'apprentissage" -> "d' apprentissage"
_ELISION = re.compile(r"\b([ldjmnstc]|qu)['’](?=[^\W\d_])", re.IGNORECASE)

_UP = "A-ZÀ-ÖØ-Þ"
_LO = "a-zß-öø-ÿ"
# camelCase / PascalCase / digit boundaries: "100DaysOfMLCode" -> 100 Days Of ML Code;
# a leading "iOS", "iPhone", "eBay", "xAI" stays one word; other scripts (人工知能) are kept as runs.
_CAMEL = re.compile(
    rf"^[{_LO}](?=[{_UP}])(?:[{_UP}]+(?![{_LO}])|[{_UP}][{_LO}]+)"
    rf"|[{_UP}]+(?=[{_UP}][{_LO}])|[{_UP}]?[{_LO}]+|[{_UP}]+|\d+|[^\W\d_{_UP}{_LO}]+"
)
#: Longest keyword phrase the LFs match, in words.
MAX_PHRASE_WORDS = 4
# letters and digits of any script, with the combining vowel signs of Indic and Thai scripts
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0900-\u0dff\u0e00-\u0e7f])+(?:'[^\W_]+)?")


def split_hashtag(tag: str) -> list[str]:
    """``MachineLearning`` → ``["machine", "learning"]``; ``AI`` → ``["ai"]``; ``bigdata`` → ``["bigdata"]``.

    Digits split off (``COVID19`` → ``covid 19``); a lower-case letter before capitals stays with them
    (``iOS`` → ``ios``). ``NLProc`` gives ``nl proc``: matching also sees the tag as written (``nlproc``).
    """
    return [p.lower() for p in _CAMEL.findall(tag)] or [tag.lower()]


def _strings(value: Any) -> list[str]:
    """The strings of a list-like column value: list, tuple, numpy array, one string, None or NaN."""
    if value is None or isinstance(value, bytes | bytearray):
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, float) and math.isnan(value):
        return []
    if not isinstance(value, Iterable):
        return []
    try:
        return [v for v in value if isinstance(v, str)]
    except TypeError:  # e.g. a 0-d numpy array
        return []


def _grams(seq: list[str]) -> set[str]:
    """Every run of 1 to ``MAX_PHRASE_WORDS`` consecutive words, joined by single spaces."""
    out = set(seq)
    for n in range(2, MAX_PHRASE_WORDS + 1):
        out.update(map(" ".join, zip(*(seq[i:] for i in range(n)), strict=False)))
    return out


def _words(text: str) -> list[str]:
    """Lower-case words; a possessive is its noun ("OpenAI's" -> "openai"), other contractions stay ("don't")."""
    words = _WORD.findall(_ELISION.sub(r"\1 ", text.lower().replace("’", "'")))
    return [w[:-2] if w.endswith("'s") else w for w in words]


_TOKEN = re.compile(r"\S+")
_LEADING_TAG = re.compile(r"#(\w+)")
_WORD_START = re.compile(r"[^\W_]")
_GLUED_WORD = re.compile(r"[-'’][^\W_]")


def _prose(text: str) -> tuple[str, list[str]]:
    """The text without its hashtag blocks, and the hashtags used as words of a sentence.

    "uses #AI to monitor crowds" keeps ``AI`` (split like any hashtag) as a word of the sentence; a run
    of hashtags ("... #AI #IoT #5G"), a hashtag at the end or glued to other text is dropped.
    """
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    inline: list[str] = []
    for i, tok in enumerate(tokens):
        if "#" not in tok:
            out.append(tok)
            continue
        m = _LEADING_TAG.match(tok)
        rest = tok[m.end() :] if m else ""
        if m and "#" not in rest and not (i > 0 and tokens[i - 1].startswith("#")):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if (_WORD_START.match(nxt) and not nxt.lower().startswith("http")) or _GLUED_WORD.match(rest):
                inline.append(m.group(1))
                out.append(" ".join(split_hashtag(m.group(1))) + rest)
                continue
        out.append(_HASHTAG.sub(" ", tok))
    return " ".join(out), inline


@dataclass(frozen=True, slots=True)
class TweetFeatures:
    """A tweet prepared for keyword rules."""

    text: str  # text (NFKC-normalised), links removed (case kept: "AI" vs "Ai" matters)
    lower: str  # " words words | tag words " of text + split hashtags, lower-case, padded with spaces
    hashtags: tuple[str, ...]  # lower-case hashtag bodies as written (no '#')
    mentions: tuple[str, ...]  # @handles as written (no '@')
    hashtag_words: tuple[str, ...]  # split hashtag words
    domains: tuple[str, ...]
    n_words: int
    n_hashtags: int
    n_mentions: int
    is_retweet: bool
    grams: frozenset[str]  # every 1- to 4-word sequence of the text (hashtags as written and split)
    text_grams: frozenset[str] = frozenset()  # the same of the prose alone: no mentions, no hashtag blocks
    folded: str = ""  # ``text`` case-folded: for phrases of scripts written without spaces (人工知能)
    tag_parts: tuple[tuple[str, ...], ...] = ()  # ``split_hashtag`` of each of ``hashtags``
    inline_hashtags: tuple[str, ...] = ()  # lower-case hashtags used as words of a sentence ("uses #AI to")

    def has(self, phrase: str) -> bool:
        """Word-boundary match of a lower-case phrase (up to 4 words) in text or split hashtags."""
        return phrase in self.grams

    def has_any(self, phrases: frozenset[str]) -> bool:
        return not self.grams.isdisjoint(phrases)

    def count_any(self, phrases: frozenset[str]) -> int:
        """How many distinct phrases of ``phrases`` occur.

        ``#MachineLearning`` counts once, not as both "machinelearning" and "machine learning", and
        "large language model" once, not also as "language model".
        """
        return len(distinct_phrases(self.grams & phrases))


def distinct_phrases(found: Iterable[str]) -> set[str]:
    """``found`` without phrases inside a longer one found, spelled without spaces (``machinelearning``)."""
    found = set(found)
    padded = [f" {q} " for q in found]
    return {p.replace(" ", "") for p in found if not any(f" {p} " in q and len(q) > len(p) + 2 for q in padded)}


def features_of(text: Any, urls: Any = (), hashtags: Any = (), is_retweet: bool = False) -> TweetFeatures:
    """Build :class:`TweetFeatures`; ``urls`` are expanded URLs (links inside the text count too).

    Never raises on odd input: a missing text is "", list columns may be lists, tuples, numpy
    arrays, None or NaN.
    """
    text = unicodedata.normalize("NFKC", text) if isinstance(text, str) else ""
    url_list = _strings(urls) + _URL.findall(text)
    no_links = _URL.sub(" ", text)
    url_list += _BARE_LINK.findall(no_links)
    no_links = _BARE_LINK.sub(" ", no_links)
    tags = _HASHTAG.findall(no_links) + _strings(hashtags)
    splits = {t: tuple(split_hashtag(t)) for t in (t.lstrip("#") for t in tags) if t}
    # hashtags are searched both as written ("bigdata") and split ("big data")
    body = _HASHTAG.sub(lambda m: " " + " ".join([m.group(1).lower(), *splits[m.group(1)]]) + " ", no_links)
    words = _words(_MENTION.sub(" ", body))
    extra = [w for t, parts in splits.items() for w in [t.lower(), *parts]]
    prose_text, inline = _prose(no_links)
    prose = _words(_MENTION.sub(" ", prose_text))
    lower_tags: dict[str, tuple[str, ...]] = {}
    for t, parts in splits.items():
        lower_tags.setdefault(t.lower(), parts)
    hosts = (_HOST.match(domain_of(u)) for u in url_list)
    domains = tuple(dict.fromkeys(d for d in (h.group(0).strip(".-") if h else "" for h in hosts) if d))
    mentions = _MENTION.findall(no_links)  # not the "@user" in a link path (medium.com/@user/...)
    return TweetFeatures(
        text=no_links,
        lower=" " + " ".join([*words, "|", *extra]) + " ",
        hashtags=tuple(lower_tags),
        mentions=tuple(dict.fromkeys(mentions)),
        hashtag_words=tuple(w for parts in splits.values() for w in parts),
        domains=domains,
        n_words=len(words),
        n_hashtags=len(lower_tags),
        n_mentions=len(mentions),
        is_retweet=bool(is_retweet) or text.startswith("RT @"),
        grams=frozenset(_grams(words) | _grams(extra)),
        text_grams=frozenset(_grams(prose)),
        folded=no_links.casefold(),
        tag_parts=tuple(lower_tags.values()),
        inline_hashtags=tuple(dict.fromkeys(t.lower() for t in inline)),
    )
