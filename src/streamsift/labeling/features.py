"""What the labeling functions look at, computed once per tweet.

The original project's matching had two bugs these features avoid:

* it stripped ``#`` from the tweet but not from its keywords, so ``#AI`` never
  matched ``#AI``; here hashtags are split into words (``#MachineLearning`` →
  ``machine learning``, ``#100DaysOfMLCode`` → ``100 days of ml code``) and
  searched like the rest of the text;
* it matched word pairs inside longer words; here every keyword is matched on
  word boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from streamsift.records import domain_of

_URL = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"@\w+")
# camelCase / PascalCase / digit boundaries: "100DaysOfMLCode" -> 100 Days Of ML Code
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
#: Longest keyword phrase the LFs match, in words.
MAX_PHRASE_WORDS = 4
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def split_hashtag(tag: str) -> list[str]:
    """``MachineLearning`` → ``["machine", "learning"]``; ``AI`` → ``["ai"]``; ``bigdata`` → ``["bigdata"]``."""
    return [p.lower() for p in _CAMEL.findall(tag)] or [tag.lower()]


@dataclass(frozen=True, slots=True)
class TweetFeatures:
    """A tweet prepared for keyword rules."""

    text: str  # original text, links removed (case kept: "AI" vs "Ai" matters)
    lower: str  # " words words " of text + split hashtags, lower-case, padded with spaces
    hashtags: tuple[str, ...]  # lower-case hashtag bodies as written (no '#')
    mentions: tuple[str, ...]  # @handles as written (no '@')
    hashtag_words: tuple[str, ...]  # split hashtag words
    domains: tuple[str, ...]
    n_words: int
    n_hashtags: int
    n_mentions: int
    is_retweet: bool
    grams: frozenset[str]  # every 1- to 4-word sequence of ``lower``

    def has(self, phrase: str) -> bool:
        """Word-boundary match of a lower-case phrase (up to 4 words) in text or split hashtags."""
        return phrase in self.grams

    def has_any(self, phrases: frozenset[str]) -> bool:
        return not self.grams.isdisjoint(phrases)

    def count_any(self, phrases: frozenset[str]) -> int:
        """How many distinct phrases of ``phrases`` occur (``#MachineLearning`` counts once, not as
        both "machinelearning" and "machine learning")."""
        return len({p.replace(" ", "") for p in self.grams & phrases})


def features_of(text: str, urls: Any = (), hashtags: Any = (), is_retweet: bool = False) -> TweetFeatures:
    """Build :class:`TweetFeatures`; ``urls`` are expanded URLs (links inside the text count too)."""
    text = text if isinstance(text, str) else ""
    url_list = [u for u in (urls if isinstance(urls, list | tuple) else list(urls or [])) if isinstance(u, str)]
    url_list += _URL.findall(text)
    no_links = _URL.sub(" ", text)
    tags = [t for t in _HASHTAG.findall(no_links)]
    if hashtags is not None and not isinstance(hashtags, str):
        tags += [t for t in hashtags if isinstance(t, str)]
    tag_words: list[str] = []
    for t in dict.fromkeys(tags):
        tag_words += split_hashtag(t)
    # hashtags are searched both as written ("bigdata") and split ("big data")
    body = _HASHTAG.sub(lambda m: " " + " ".join([m.group(1).lower(), *split_hashtag(m.group(1))]) + " ", no_links)
    body = _MENTION.sub(" ", body)
    words = _WORD.findall(body.lower().replace("’", "'"))
    extra = [w for t in dict.fromkeys(tags) for w in [t.lower(), *split_hashtag(t)]]
    lower = " " + " ".join(words + ["|"] + extra) + " "
    grams: set[str] = set()
    for seq in (words, extra):
        for n in range(1, MAX_PHRASE_WORDS + 1):
            for i in range(len(seq) - n + 1):
                grams.add(" ".join(seq[i : i + n]))
    domains = tuple(dict.fromkeys(d for d in (domain_of(u) for u in url_list) if d))
    return TweetFeatures(
        text=no_links,
        lower=lower,
        hashtags=tuple(dict.fromkeys(t.lower() for t in tags)),
        mentions=tuple(dict.fromkeys(m[1:] for m in _MENTION.findall(text))),
        hashtag_words=tuple(tag_words),
        domains=domains,
        n_words=len(words),
        n_hashtags=len(dict.fromkeys(t.lower() for t in tags)),
        n_mentions=len(_MENTION.findall(text)),
        is_retweet=bool(is_retweet) or text.startswith("RT @"),
        grams=frozenset(grams),
    )
