"""A built-in, deterministic, realistic mixed tweet stream (the stream the demo runs on).

It mixes AI / data-science tweets (with and without links) and everything else,
including the false friends weak supervision must get right (ML = Mobile Legends,
AI = Air India, DL = download), in X API v1.1 shape (and a share in v2 shape):
retweets and quotes of extended tweets, hashtags, mentions, emoji, other languages,
exact duplicates (the same tweet delivered twice), near duplicates (same text, new
id) and a small share of malformed records. The same seed gives the same stream.

Real vocabulary: a third of the non-AI tweets are everyday chatter drawn from English word
frequencies (wordfreq's list, topic words removed), and half the AI tweets carry everyday
words around their topic, so a model trained on this stream alone learns that everyday
words are no evidence either way (``bench/synthetic_on_real.py`` measures it on real tweets).

:func:`generate` also yields what each record is (``kind``, ``topic``), so tests
know the exact expected outcome of ingesting it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate

import orjson

from streamsift.sources.base import Source, SourceRecord

#: ids start here (April 2020 snowflakes); each seed gets its own id range.
_ID_BASE = 1_250_000_000_000_000_000
_EPOCH = datetime(2020, 4, 10, 6, 0, 0, tzinfo=UTC)
_LONG_COMMENT = " — and a longer comment so the original is an extended tweet of more than 140 characters"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

AI_TEMPLATES = [
    "New paper: {thing} beats the state of the art on {bench} {link}",
    "Just released our open-source {thing} library for {task} 🚀 {link}",
    "How {org} uses machine learning to improve {task} {link}",
    "A gentle introduction to {thing} for data scientists {link}",
    "Thread 🧵 on what we learned fine-tuning an LLM for {task} {link}",
    "{thing} explained in 5 minutes: the math behind deep learning {link}",
    "Our team is hiring a Data Scientist to work on {task} #hiring {link}",
    "Benchmarking {thing} vs gradient boosting on tabular data - results surprised me {link}",
    "Great talk by @{user} on responsible AI and {task} {link}",
    "Kaggle competition: predict {task} with computer vision. Top solution write-up {link}",
    "Why your neural network is not learning: 10 debugging tips {link}",
    "Big Data pipelines with Spark and Kafka for real-time {task} {link}",
    "Natural language processing with transformers: a hands-on tutorial {link}",
    "Reinforcement learning agent learns {task} from scratch {link}",
    "The 10 best examples of how #AI is already used in {task} {link}",
]
AI_NOLINK = [
    "Anyone else think {thing} is overhyped? Curious what ML folks think",
    "Spent the whole day cleaning data for my machine learning model 😩",
    "Deep learning is just matrix multiplication with extra steps #AI",
    "My LLM keeps hallucinating citations. Any tips for {task}?",
]
AI_THINGS = [
    "GraphSAGE",
    "a vision transformer",
    "BERT",
    "XGBoost",
    "a diffusion model",
    "LoRA",
    "contrastive learning",
    "a recurrent neural network",
    "AutoML",
    "federated learning",
    "retrieval-augmented generation",
    "a small language model",
]
AI_TASKS = [
    "fraud detection",
    "medical imaging",
    "demand forecasting",
    "speech recognition",
    "protein folding",
    "recommendation systems",
    "churn prediction",
    "document search",
    "self-driving cars",
    "climate modelling",
]
AI_BENCH = ["ImageNet", "GLUE", "SQuAD", "MMLU", "COCO", "LibriSpeech"]
AI_HASHTAGS = [
    "#AI",
    "#MachineLearning",
    "#DeepLearning",
    "#DataScience",
    "#BigData",
    "#NLP",
    "#ML",
    "#ArtificialIntelligence",
    "#Python",
    "#LLM",
    "#ComputerVision",
    "#100DaysOfMLCode",
]
AI_DOMAINS = [
    "arxiv.org/abs/2004.{n:05d}",
    "github.com/{user}/{slug}",
    "huggingface.co/{user}/{slug}",
    "kaggle.com/code/{user}/{slug}",
    "paperswithcode.com/paper/{slug}",
    "towardsdatascience.com/{slug}",
    "medium.com/@{user}/{slug}",
    "ai.googleblog.com/2020/04/{slug}.html",
    "openai.com/blog/{slug}",
]
OTHER_TEMPLATES = [
    "What a match! {team} deserved that win tonight ⚽🔥",
    "Can't believe it's already {day} again 😴",
    "Made {food} for dinner and honestly it slaps 🍝",
    "New episode of my podcast is out now, link in bio 🎙️",
    "Traffic on the highway is insane this morning 🚗🚗🚗",
    "Stay home, stay safe everyone ❤️ #COVID19",
    "Just pushed rank in Mobile Legends, ML is life 🎮 #MLBB",
    "Air India flight AI 302 delayed again at the airport ✈️",
    "Free DL of the new album here, go go go {link}",
    "Watching {show} for the third time, no regrets 📺",
    "Big sale today only: 50% off all {product} {link}",
    "Happy birthday to my best friend @{user} 🎉🎂",
    "Our new {product} drops Friday #fashion #style {link}",
    "Listening to {artist} on repeat today 🎧",
    "Election results are coming in, stay tuned {link}",
    "Who else is learning to bake bread during lockdown? 🍞",
    "Me: I'll sleep early. Also me at 3am: 👁️👄👁️",
    "The weather is perfect for a walk in the park ☀️🌳",
    "#AI #crypto #bitcoin #forex #NFT #trading #money #win #giveaway #follow {link}",
]
OTHER_FOREIGN = [
    ("es", "¡Qué partido tan increíble! {team} ganó otra vez ⚽"),
    ("fr", "Je suis tellement fatigué aujourd'hui, vivement le week-end 😴"),
    ("de", "Heute gibt es Käsespätzle zum Abendessen 🧀"),
    ("ja", "今日はとても暑いですね☀️ アイスが食べたい"),
    ("hi", "आज का मौसम बहुत अच्छा है 🌧️"),
    ("pt", "Bom dia! Vamos tomar um café ☕"),
    ("es", "Nuevo curso de inteligencia artificial y aprendizaje automático {link}"),
]
OTHER_FILL = {
    "team": ["Liverpool", "the Lakers", "Barcelona", "the Yankees", "India", "the All Blacks"],
    "day": ["Monday", "Friday", "Sunday"],
    "food": ["lasagna", "ramen", "tacos", "biryani", "pancakes"],
    "show": ["The Office", "Tiger King", "Friends", "Money Heist"],
    "product": ["sneakers", "hoodies", "headphones", "phone cases"],
    "artist": ["Dua Lipa", "The Weeknd", "BTS", "Bad Bunny"],
}
OTHER_DOMAINS = [
    "bit.ly/{slug}",
    "youtube.com/watch?v={slug}",
    "instagram.com/p/{slug}",
    "shop.example.com/{slug}",
    "news.example.org/2020/04/{slug}",
    "open.spotify.com/track/{slug}",
]
#: Short fragments appended to make texts vary the way real ones do.
FRAGMENTS_AI = [
    "Worth a read.",
    "Thoughts?",
    "Highly recommended 👇",
    "h/t @{user}",
    "via @{user}",
    "(thread)",
    "Slides in the link.",
    "Code included.",
    "Day {n} of learning in public.",
    "Bookmarking this one.",
    "Great results on a tiny budget.",
    "Open access.",
    "Feedback welcome!",
    "🔥🔥",
    "📈",
    "🤖",
    "Part {n}.",
    "Q{q} update.",
    "Accepted at NeurIPS!",
    "We're hiring!",
]
FRAGMENTS_OTHER = [
    "Can't wait!",
    "Thoughts?",
    "😂😂",
    "❤️",
    "🙏",
    "Day {n} of lockdown.",
    "No comment.",
    "Again!!",
    "Who's with me?",
    "Tag a friend 👇",
    "#tbt",
    "lol",
    "Best day ever.",
    "Send help.",
    "Mood.",
    "Round {n}.",
    "Just saying.",
    "🔥",
    "Anyway.",
    "See you at {n}pm!",
]
HASHTAGS_OTHER = ["#COVID19", "#StayHome", "#MondayMotivation", "#NowPlaying", "#photography", "#love"]
USERS = [
    "datasciguy",
    "mlweekly",
    "karpathy_fan",
    "ai_news_bot",
    "rstats_amy",
    "kaggle_kid",
    "sportsfan99",
    "foodie_jen",
    "gamer4life",
    "travel_tom",
    "newsdesk",
    "musiclover",
    "dev_diaries",
    "lockdown_baker",
]


@dataclass(slots=True)
class SyntheticItem:
    """One generated record and what it is."""

    record: SourceRecord
    kind: str  # "tweet" | "duplicate" | "near_duplicate" | "malformed"
    topic: str | None  # "ai" | "other" | None for malformed
    tweet_id: int | None


def _created_at(i: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=37 * i)


def _v1_time(dt: datetime) -> str:
    return f"{_DAYS[dt.weekday()]} {_MONTHS[dt.month - 1]} {dt.day:02d} {dt:%H:%M:%S} +0000 {dt.year}"


#: Words that are AI / data-science evidence on their own (or in an easy bigram): kept out of everyday text.
_TOPIC_WORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "ai ml nlp llm gpt data learning learn machine machines model models deep science vision language network "
        "networks training computer computers neural intelligence artificial algorithm algorithms analytics robot "
        "robots robotics automation automated python statistics bot bots tech technology digital smart software "
        "code coding predict prediction predictions research scientist scientists engineer engineering analysis cloud"
    ).split()
)


@cache
def _everyday_words() -> tuple[tuple[str, ...], tuple[float, ...]]:
    """English everyday vocabulary (wordfreq's frequency list) without topic words, with Zipf-like weights."""
    from wordfreq import top_n_list

    words = tuple(w for w in top_n_list("en", 5000) if len(w) > 1 and w.isalpha() and w not in _TOPIC_WORDS)
    return words, tuple(accumulate(1.0 / (rank + 20) for rank in range(len(words))))


class _Gen:
    def __init__(self, seed: int, ai_share: float, v2_share: float) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.ai_share = ai_share
        self.v2_share = v2_share
        self.history: list[tuple[bytes, int, str]] = []  # recent (payload, id, topic) for duplicates
        self.texts: list[tuple[str, list[str], str]] = []  # recent (text, links, topic)

    def link(self, ai: bool) -> str:
        r = self.rng
        pattern = r.choice(AI_DOMAINS if ai else OTHER_DOMAINS)
        return "https://" + pattern.format(
            n=r.randrange(100000),
            user=r.choice(USERS),
            slug=f"{r.choice(['a', 'b', 'x', 'k'])}{r.randrange(10**6)}",
        )

    def everyday(self, lo: int, hi: int) -> str:
        """A run of everyday English words drawn by frequency (real vocabulary, not templates)."""
        words, cum = _everyday_words()
        return " ".join(self.rng.choices(words, cum_weights=cum, k=self.rng.randint(lo, hi)))

    def text(self, ai: bool) -> tuple[str, list[str], str | None]:
        """(text without t.co links, expanded links, lang)."""
        r = self.rng
        links: list[str] = []

        def link_token() -> str:
            links.append(self.link(ai))
            return "{LINK}"

        lang = "en"
        if ai:
            tpl = r.choice(AI_TEMPLATES) if r.random() < 0.8 else r.choice(AI_NOLINK)
            text = tpl.format(
                thing=r.choice(AI_THINGS),
                task=r.choice(AI_TASKS),
                bench=r.choice(AI_BENCH),
                org=r.choice(["Google", "Netflix", "Spotify", "a startup", "NASA"]),
                user=r.choice(USERS),
                link="{link}",
            )
            tags = r.sample(AI_HASHTAGS, r.randint(0, 3))
            if r.random() < 0.5:  # everyday words around the topic, as real tweets have them
                text = f"{self.everyday(3, 10)} {text}" if r.random() < 0.5 else f"{text} {self.everyday(3, 10)}"
        elif r.random() < 0.33:  # everyday chatter in real vocabulary
            sentence = self.everyday(5, 20)
            text = sentence[0].upper() + sentence[1:] + r.choice(("", ".", "!", "?", " 😂", " 🙏", " ❤️", " lol"))
            if r.random() < 0.15:
                text = f"{text} {{link}}"
            tags = r.sample(HASHTAGS_OTHER, 1) if r.random() < 0.15 else []
        else:
            if r.random() < 0.12:
                lang, tpl = r.choice(OTHER_FOREIGN)
            else:
                tpl = r.choice(OTHER_TEMPLATES)
            fill = {k: r.choice(v) for k, v in OTHER_FILL.items()}
            text = tpl.format(user=r.choice(USERS), link="{link}", **fill)
            tags = r.sample(HASHTAGS_OTHER, r.randint(0, 2)) if r.random() < 0.4 else []
        fragments = FRAGMENTS_AI if ai else FRAGMENTS_OTHER
        for _ in range(r.choice((0, 1, 1, 2))):
            text = f"{text} " + r.choice(fragments).format(user=r.choice(USERS), n=r.randint(1, 99), q=r.randint(1, 4))
        if "{link}" in text:
            text = text.replace("{link}", link_token())
        if tags:
            text = f"{text} {' '.join(tags)}"
        if r.random() < 0.25:
            text = f"@{r.choice(USERS)} {text}"
        return text, links, lang

    def user(self, uid: int | None = None) -> dict:
        r = self.rng
        name = r.choice(USERS)
        uid = uid or 10_000 + r.randrange(5_000_000)
        return {
            "id": uid,
            "id_str": str(uid),
            "name": name.replace("_", " ").title(),
            "screen_name": name,
            "location": r.choice(["", "Berlin", "San Francisco, CA", "Lagos", "Mumbai", "London"]),
            "description": "Opinions are my own.",
            "protected": False,
            "verified": r.random() < 0.03,
            "followers_count": r.randrange(20, 200_000),
            "friends_count": r.randrange(20, 5000),
            "statuses_count": r.randrange(100, 100_000),
            "created_at": "Fri Nov 02 05:53:56 +0000 2012",
            "lang": None,
        }

    @staticmethod
    def entities(text: str, links: list[str], tco: list[str]) -> dict:
        hashtags, mentions = [], []
        for word in text.split():
            if word.startswith("#") and len(word) > 1:
                start = text.find(word)
                hashtags.append({"text": word[1:].rstrip(".,!?"), "indices": [start, start + len(word)]})
            elif word.startswith("@") and len(word) > 1:
                start = text.find(word)
                name = word[1:].rstrip(":.,!?")
                mentions.append(
                    {
                        "screen_name": name,
                        "name": name,
                        "id": 1,
                        "id_str": "1",
                        "indices": [start, start + len(word)],
                    }
                )
        urls = [
            {
                "url": short,
                "expanded_url": long,
                "display_url": long.split("//", 1)[1][:25] + "…",
                "indices": [0, 0],
            }
            for short, long in zip(tco, links, strict=True)
        ]
        return {"hashtags": hashtags, "urls": urls, "user_mentions": mentions, "symbols": []}

    def tco(self) -> str:
        r = self.rng
        return "https://t.co/" + "".join(r.choice("abcdefghijkLMNOPQRSTuvwxyz0123456789") for _ in range(10))

    def v1_status(self, tid: int, text: str, links: list[str], lang: str | None, i: int) -> dict:
        """A v1.1 status; long texts get truncated ``text`` plus ``extended_tweet``."""
        tco = [self.tco() for _ in links]
        full = text
        for short in tco:
            full = full.replace("{LINK}", short, 1)
        status: dict = {
            "created_at": _v1_time(_created_at(i)),
            "id": tid,
            "id_str": str(tid),
            "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
            "in_reply_to_status_id": None,
            "user": self.user(),
            "is_quote_status": False,
            "retweet_count": 0,
            "favorite_count": 0,
            "lang": lang,
            "timestamp_ms": str(1586498400000 + 37 * i),
            "filter_level": "low",
        }
        ents = self.entities(full, links, tco)
        if len(full) > 140:
            status["truncated"] = True
            status["text"] = full[:115] + "… " + self.tco()
            status["entities"] = {"hashtags": [], "urls": [], "user_mentions": [], "symbols": []}
            status["extended_tweet"] = {
                "full_text": full,
                "display_text_range": [0, len(full)],
                "entities": ents,
            }
        else:
            status["truncated"] = False
            status["text"] = full
            status["entities"] = ents
        return status

    def v2_message(self, tid: int, text: str, links: list[str], lang: str | None, i: int) -> dict:
        tco = [self.tco() for _ in links]
        full = text
        for short in tco:
            full = full.replace("{LINK}", short, 1)
        user = self.user()
        data: dict = {
            "id": str(tid),
            "text": full,
            "lang": lang,
            "author_id": user["id_str"],
            "created_at": _created_at(i).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "edit_history_tweet_ids": [str(tid)],
            "entities": {
                "urls": [
                    {"url": s, "expanded_url": long, "display_url": long[8:30]}
                    for s, long in zip(tco, links, strict=True)
                ],
                "hashtags": [{"tag": w[1:]} for w in full.split() if w.startswith("#") and len(w) > 1],
                "mentions": [{"username": w[1:].rstrip(":")} for w in full.split() if w.startswith("@")],
            },
        }
        includes = {
            "users": [
                {
                    "id": user["id_str"],
                    "username": user["screen_name"],
                    "name": user["name"],
                    "verified": user["verified"],
                    "public_metrics": {"followers_count": user["followers_count"]},
                }
            ]
        }
        return {"data": data, "includes": includes, "matching_rules": [{"id": "1", "tag": "streamsift"}]}

    def malformed(self, i: int) -> bytes:
        r = self.rng
        kind = r.randrange(7)
        if kind == 0:  # cut off mid-record (a torn write)
            full = orjson.dumps(self.v1_status(self.new_id(i), "cut off", [], "en", i))
            return full[: r.randrange(10, len(full) - 5)]
        if kind == 1:
            return b"this is not json at all"
        if kind == 2:
            return orjson.dumps({"text": "a tweet without an id", "lang": "en"})
        if kind == 3:
            return orjson.dumps([{"id": 1, "text": "an array, not an object"}])
        if kind == 4:
            return orjson.dumps({"id_str": str(self.new_id(i)), "text": "   "})
        if kind == 5:
            return b'{"id_str": "12", "text": "latin-1 caf\xe9 \xff\xfe"}'
        return orjson.dumps({"delete": {"status": {"id": 1, "id_str": "1"}, "timestamp_ms": "1586498400000"}})

    def new_id(self, i: int) -> int:
        return _ID_BASE + (self.seed % 100_000) * 10_000_000_000 + i * 7 + 1


def generate(
    count: int,
    seed: int = 0,
    *,
    ai_share: float = 0.3,
    v2_share: float = 0.1,
    duplicate_share: float = 0.03,
    near_duplicate_share: float = 0.03,
    malformed_share: float = 0.01,
) -> Iterator[SyntheticItem]:
    """Yield ``count`` records; the same arguments give the same records."""
    g = _Gen(seed, ai_share, v2_share)
    r = g.rng
    for i in range(count):
        roll = r.random()
        if roll < malformed_share:
            yield SyntheticItem(SourceRecord(g.malformed(i), None), "malformed", None, None)
            continue
        roll -= malformed_share
        if roll < duplicate_share and g.history:
            payload, tid, topic = r.choice(g.history)
            yield SyntheticItem(SourceRecord(payload, str(tid).encode()), "duplicate", topic, tid)
            continue
        roll -= duplicate_share
        tid = g.new_id(i)
        if roll < near_duplicate_share and g.texts:
            text, links, topic = r.choice(g.texts)
            variant = r.randrange(3)
            if variant == 0:
                text = (text.upper() if r.random() < 0.3 else text.lower()).replace("{link}", "{LINK}")
            elif variant == 1:
                text = f"RT {text}" if not text.startswith("RT ") else text
            else:
                text = "  ".join(text.split(" "))
            links = [g.link(topic == "ai") for _ in links]
            kind, lang = "near_duplicate", "en"
        else:
            topic = "ai" if r.random() < ai_share else "other"
            text, links, lang = g.text(topic == "ai")
            kind = "tweet"
        shape = r.random()
        if shape < v2_share:
            obj = g.v2_message(tid, text, links, lang, i)
        else:
            obj = g.v1_status(tid, text, links, lang, i)
            if shape < v2_share + 0.2 and kind == "tweet":  # a retweet of an (extended) original
                original = g.v1_status(
                    g.new_id(i) + 3,
                    text
                    + " "
                    + " ".join(r.sample(AI_HASHTAGS if topic == "ai" else HASHTAGS_OTHER, 2))
                    + _LONG_COMMENT,
                    links,
                    lang,
                    i,
                )
                rt_user = original["user"]["screen_name"]
                obj["retweeted_status"] = original
                obj["text"] = (
                    f"RT @{rt_user}: "
                    + original.get("extended_tweet", original)["full_text" if "extended_tweet" in original else "text"][
                        :100
                    ]
                    + "…"
                )
                obj["entities"] = {
                    "hashtags": [],
                    "urls": [],
                    "user_mentions": [{"screen_name": rt_user, "indices": [3, 4 + len(rt_user)]}],
                    "symbols": [],
                }
                obj.pop("extended_tweet", None)
                obj["truncated"] = False
            elif shape < v2_share + 0.3 and g.history:  # a quote of an earlier tweet
                quoted_payload, qid, _ = r.choice(g.history)
                quoted = orjson.loads(quoted_payload)
                if "id_str" in quoted:
                    obj["is_quote_status"] = True
                    obj["quoted_status_id"] = qid
                    obj["quoted_status_id_str"] = str(qid)
                    obj["quoted_status"] = {k: v for k, v in quoted.items() if k != "quoted_status"}
        payload = orjson.dumps(obj)
        g.history.append((payload, tid, topic))
        g.texts.append((text, links, topic))
        if len(g.history) > 500:
            del g.history[:250]
            del g.texts[:250]
        yield SyntheticItem(SourceRecord(payload, str(tid).encode()), kind, topic, tid)


class SyntheticSource(Source):
    """``streamsift produce --source synthetic --count N --seed S``."""

    name = "synthetic"

    def __init__(self, count: int, seed: int = 0, **kwargs: float) -> None:
        self.count = count
        self.seed = seed
        self.kwargs = kwargs

    @property
    def total(self) -> int | None:
        return self.count

    def __iter__(self) -> Iterator[SourceRecord]:
        for item in generate(self.count, self.seed, **self.kwargs):
            yield item.record


__all__ = ["SyntheticItem", "SyntheticSource", "generate"]
