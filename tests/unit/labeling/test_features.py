"""TweetFeatures: hashtag splitting, word-boundary n-grams, domains, mentions, prose vs hashtag blocks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamsift.labeling.features import MAX_PHRASE_WORDS, distinct_phrases, features_of, split_hashtag


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("MachineLearning", ["machine", "learning"]),
        ("machinelearning", ["machinelearning"]),
        ("AI", ["ai"]),
        ("ai", ["ai"]),
        ("100DaysOfMLCode", ["100", "days", "of", "ml", "code"]),
        ("bigdata", ["bigdata"]),
        ("BigData", ["big", "data"]),
        ("BIGDATA", ["bigdata"]),
        # the upper-case run gives its last capital to the next word; the tag as written still matches
        ("NLProc", ["nl", "proc"]),
        ("iOS", ["ios"]),
        ("iPhone12", ["iphone", "12"]),
        ("eBay", ["ebay"]),
        ("xAI", ["xai"]),
        ("COVID19", ["covid", "19"]),
        ("AIApril", ["ai", "april"]),
        ("SparkAISummit", ["spark", "ai", "summit"]),
        ("HTMLParser", ["html", "parser"]),
        ("AI_Strategy", ["ai", "strategy"]),
        ("KünstlicheIntelligenz", ["künstliche", "intelligenz"]),
        ("人工知能", ["人工知能"]),
        ("AI画伯", ["ai", "画伯"]),
    ],
)
def test_split_hashtag(tag: str, words: list[str]) -> None:
    assert split_hashtag(tag) == words


def test_hashtags_are_searched_as_written_and_split() -> None:
    f = features_of("Week 12 of #100DaysOfMLCode and #NLProc reading group tonight #BigData")
    assert {"100daysofmlcode", "ml code", "100 days of ml", "nlproc", "bigdata", "big data"} <= f.grams
    assert f.hashtags == ("100daysofmlcode", "nlproc", "bigdata")
    assert f.tag_parts == (("100", "days", "of", "ml", "code"), ("nl", "proc"), ("big", "data"))
    assert f.n_hashtags == 3


def test_hashtags_from_the_row_count_once_with_those_in_the_text() -> None:
    f = features_of("Loving this #MachineLearning course", hashtags=["MachineLearning", "#DeepLearning"])
    assert f.hashtags == ("machinelearning", "deeplearning")
    assert "deep learning" in f.grams and "machine learning" in f.grams


def test_grams_respect_word_boundaries() -> None:
    f = features_of("She said the html email from Hawaii about Thai food and mathematics was available")
    assert {"said", "html", "email", "hawaii", "thai", "mathematics", "available"} <= f.grams
    for inside in ("ai", "ml", "math", "hawai", "thai food and mathematics was"):
        assert inside not in f.grams


def test_grams_are_one_to_four_words_in_order() -> None:
    f = features_of("Deep learning is really fun today")
    assert {"deep", "deep learning", "deep learning is", "deep learning is really"} <= f.grams
    assert "learning deep" not in f.grams
    assert "deep learning is really fun" not in f.grams  # five words
    assert max(len(g.split()) for g in f.grams) == MAX_PHRASE_WORDS
    assert f.has("deep learning") and not f.has("learning deep")


def test_punctuation_and_case_do_not_matter_and_possessives_are_their_noun() -> None:
    f = features_of("FINE-TUNING a Vision-Transformer... don't ask, it is OpenAI’s and GPT-4's fault!")
    assert {"fine tuning", "vision transformer", "don't", "openai", "gpt 4", "gpt 4 fault"} <= f.grams
    assert "openai's" not in f.grams


def test_french_elision_is_split() -> None:
    f = features_of("L'IA générative et l'apprentissage automatique")
    assert {"l ia", "ia", "apprentissage automatique", "générative"} <= f.grams


def test_count_any_counts_a_hashtag_once() -> None:
    phrases = frozenset({"machine learning", "machinelearning", "deep learning", "deeplearning"})
    assert features_of("#MachineLearning").count_any(phrases) == 1
    assert features_of("machine learning #MachineLearning #machinelearning").count_any(phrases) == 1
    assert features_of("#MachineLearning and #DeepLearning").count_any(phrases) == 2


def test_count_any_does_not_count_a_phrase_inside_a_longer_one() -> None:
    phrases = frozenset({"large language model", "language model", "llm"})
    assert features_of("A large language model wrote this").count_any(phrases) == 1
    assert features_of("A large language model is an LLM").count_any(phrases) == 2
    assert distinct_phrases({"language model", "large language model", "machine learning"}) == {
        "largelanguagemodel",
        "machinelearning",
    }


def test_domains_from_expanded_urls_and_text_links() -> None:
    f = features_of(
        "Paper (https://arxiv.org/abs/2004.01234), code at www.GitHub.com/foo/bar and "
        "huggingface.co/bert-base-uncased, t.co link https://t.co/AbCdEfGh12",
        urls=["https://WWW.Kaggle.com:443/code/x?utm=1", "http://user@paperswithcode.com/paper/y"],
    )
    assert f.domains == ("kaggle.com", "paperswithcode.com", "arxiv.org", "github.com", "t.co", "huggingface.co")
    assert "arxiv" not in f.grams and "kaggle" not in f.grams  # links are not words
    assert "paper" in f.grams and "code" in f.grams


def test_a_hashtag_glued_to_a_tco_link_survives() -> None:
    f = features_of("Read more: https://t.co/QYAShaJoDF#IoT #BigData and https://t.co/x2Ns00D11j")
    assert f.hashtags == ("iot", "bigdata")
    assert f.domains == ("t.co",)


def test_two_glued_links_are_two_links() -> None:
    f = features_of("see https://example.org/a/b...https://t.co/7IXZkN6BKR")
    assert f.domains == ("example.org", "t.co")


def test_mentions() -> None:
    f = features_of(
        "RT @OpenAI: thanks @karpathy, @karpathy and .@StanfordHAI - mail info@example.com, "
        "blog https://medium.com/@someone/post-1"
    )
    assert f.mentions == ("OpenAI", "karpathy", "StanfordHAI")
    assert f.n_mentions == 4
    assert "openai" not in f.grams and "karpathy" not in f.grams  # handles are not words of the text
    assert f.is_retweet


def test_prose_keeps_hashtags_used_in_a_sentence_and_drops_hashtag_blocks() -> None:
    f = features_of("Hospitals use #AI to triage #COVID19 patients faster https://t.co/AbCdEfGh12 #health #tech")
    assert f.inline_hashtags == ("ai", "covid19")
    assert {"use ai to triage", "covid 19"} <= f.text_grams
    assert "health" not in f.text_grams and "tech" not in f.text_grams
    assert {"health", "tech"} <= f.grams


def test_is_retweet_from_flag_or_prefix() -> None:
    assert features_of("hello", is_retweet=True).is_retweet
    assert features_of("RT @someone: hello").is_retweet
    assert not features_of("hello RT @someone").is_retweet


def test_fullwidth_letters_are_normalised() -> None:
    f = features_of("ＡＩと機械学習の勉強会")
    assert f.text.startswith("AI")
    assert "機械学習" in f.folded


@pytest.mark.parametrize(
    ("text", "urls", "hashtags"),
    [
        (None, None, None),
        ("", (), ()),
        (float("nan"), float("nan"), float("nan")),
        (42, 7, 3.5),
        (b"bytes are not text", b"http://x.org", b"tag"),
        ("ok", np.array(["https://arxiv.org/abs/1", "https://kaggle.com/c"]), np.array(["AI", "ML"])),
        ("ok", np.array([], dtype=object), np.array([], dtype=object)),
        ("ok", "https://arxiv.org/abs/1", "AI"),
        ("ok", [None, 3, "https://arxiv.org/abs/1"], [None, "", "#AI", 5]),
        ("nul\x00byte \ud800 lone surrogate \u200b\u200d\u202e rtl 👩\u200d💻", (), ()),
    ],
)
def test_odd_input_never_raises(text, urls, hashtags) -> None:
    f = features_of(text, urls, hashtags)
    assert isinstance(f.grams, frozenset) and isinstance(f.domains, tuple)
    if isinstance(urls, np.ndarray) and len(urls):
        assert f.domains == ("arxiv.org", "kaggle.com")
        assert f.hashtags == ("ai", "ml")
    if isinstance(text, float) and math.isnan(text):
        assert f.n_words == 0 and f.domains == ()


def test_very_long_text_is_fast_enough_and_complete() -> None:
    text = ("machine learning for crop yields, see https://arxiv.org/abs/2004.01234 #AI " * 700)[:50_000]
    f = features_of(text)
    assert len(text) == 50_000
    assert "machine learning" in f.grams and f.domains[0] == "arxiv.org"
