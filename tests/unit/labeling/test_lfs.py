"""The built-in labeling functions on hand-written tweets: every LF votes where it should and abstains on
near misses; known false friends and the original project's matching bugs stay fixed; odd input never
raises; on the synthetic stream, their majority vote agrees with the generator's topic."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import PandasLFApplier

from streamsift.labeling.apply import Row
from streamsift.labeling.features import features_of
from streamsift.labeling.lfs import ABSTAIN, AI, BUILTIN_LFS, NOT_AI, mentions_ai, tweet_features
from streamsift.records import MalformedRecord, parse_payload
from streamsift.sources.synthetic import generate

LFS = {lf.name: lf for lf in BUILTIN_LFS}
# LFs that only ever vote AI, and those that only ever vote NOT_AI
POSITIVE = [
    "lf_ai_acronym", "lf_machine_learning", "lf_deep_learning", "lf_nlp", "lf_computer_vision",
    "lf_data_science", "lf_big_data", "lf_robotics", "lf_llm", "lf_ml_tools", "lf_ai_link_domain",
    "lf_ai_accounts", "lf_several_ai_terms",
]  # fmt: skip
NEGATIVE = [
    "lf_ml_mobile_legends", "lf_ai_air_india_or_name", "lf_dl_download", "lf_hashtag_stuffed_spam",
    "lf_other_topic", "lf_no_tech_vocabulary", "lf_no_ai_terms", "lf_short_chatter",
]  # fmt: skip
_ids = itertools.count(1_250_000_000_000_000_000)


def row(text, urls=(), hashtags=(), is_retweet=False, tweet_id=None) -> Row:
    return Row(
        {
            "tweet_id": next(_ids) if tweet_id is None else tweet_id,
            "text": text,
            "urls": list(urls) if isinstance(urls, tuple) else urls,
            "hashtags": list(hashtags) if isinstance(hashtags, tuple) else hashtags,
            "is_retweet": is_retweet,
        }
    )


def votes(text, **kw) -> dict[str, int]:
    r = row(text, **kw)
    return {name: lf(r) for name, lf in LFS.items()}


def ai_voters(text, **kw) -> list[str]:
    return [name for name, v in votes(text, **kw).items() if v == AI]


def majority(v: dict[str, int]) -> int:
    counted = Counter(x for x in v.values() if x != ABSTAIN)
    if not counted or counted[AI] == counted[NOT_AI]:
        return ABSTAIN
    return AI if counted[AI] > counted[NOT_AI] else NOT_AI


def test_the_builtin_lfs() -> None:
    assert [lf.name for lf in BUILTIN_LFS] == POSITIVE + NEGATIVE
    assert len(set(LFS)) == 21


# -- every LF: where it votes, and near misses where it must abstain -------------------------------
STUFFED_CRYPTO = "#AI #crypto #bitcoin #forex #NFT #trading #money #win #giveaway #follow https://t.co/AbCdEfGh12"
STUFFED_STOCKS = (
    "5 Indian Stocks Into Cosmetics https://t.co/6H0ntEzrej #Indian #Beauty #Stocks #Investment #Makeup "
    "#Lipstick #Mascara #Dividends #BigData"
)
STUFFED_SELFIE = "Pretty me 💖💝 #USNavy #USAA #NorthCarolina #GoodFriday #PoF #selfie #DataScience"

CASES = [
    # lf_ai_acronym
    ("lf_ai_acronym", "Excited to share our new #AI model for early crop disease detection 🌱", {}, AI),
    ("lf_ai_acronym", "loving the new #ai photo features on my phone", {}, AI),
    ("lf_ai_acronym", "A.I. won't replace radiologists, but radiologists who use A.I. will", {}, AI),
    ("lf_ai_acronym", "How AI is changing drug discovery, a thread 🧵", {}, AI),
    ("lf_ai_acronym", "Artificial intelligence could add $15 trillion to the world economy by 2030", {}, AI),
    ("lf_ai_acronym", "#GenerativeAI is eating the design world", {}, AI),
    ("lf_ai_acronym", "honestly using ai to draft emails has saved me hours", {}, AI),
    ("lf_ai_acronym", "AIs still can't fold laundry", {}, AI),
    ("lf_ai_acronym", "Can't wait for #AIApril talks", {}, AI),
    ("lf_ai_acronym", "AGI is 5 years away, according to everyone for the past 50 years", {}, AI),
    ("lf_ai_acronym", "Your AGI sets the deduction limit, ask your accountant before filing", {}, ABSTAIN),
    ("lf_ai_acronym", "She said she would call when she lands in Hawaii", {}, ABSTAIN),
    ("lf_ai_acronym", "Air India AI 302 delayed again at Delhi airport", {}, ABSTAIN),
    ("lf_ai_acronym", "Ai Weiwei's new exhibition opens in London this week", {}, ABSTAIN),
    ("lf_ai_acronym", "Ai que saudade de você", {}, ABSTAIN),
    ("lf_ai_acronym", "AI MEU DEUS QUE SAUDADE DESSA MÚSICA", {}, ABSTAIN),
    ("lf_ai_acronym", "Editable logo template: AI, EPS, SVG and PNG files included", {}, ABSTAIN),
    ("lf_ai_acronym", "Allen Iverson crossover highlights, AI was different #Sixers", {}, ABSTAIN),
    ("lf_ai_acronym", STUFFED_CRYPTO, {}, ABSTAIN),
    # lf_machine_learning
    ("lf_machine_learning", "Great thread on #MachineLearning interpretability", {}, AI),
    ("lf_machine_learning", "Week 3 of #100DaysOfMLCode: finally understood backprop", {}, AI),
    ("lf_machine_learning", "Our ML team just shipped a new fraud model to production", {}, AI),
    ("lf_machine_learning", "Reinforcement learning agent learns to walk after 10 minutes", {}, AI),
    ("lf_machine_learning", "push rank in ML tonight #MLBB", {}, ABSTAIN),
    ("lf_machine_learning", "Fixed the html template for the landing page", {}, ABSTAIN),
    ("lf_machine_learning", "Add 30 ML of lime juice and shake well", {}, ABSTAIN),
    ("lf_machine_learning", "Chiefs ML -150 tonight, easy money", {}, ABSTAIN),
    ("lf_machine_learning", "Spent all day fighting an XML parser", {}, ABSTAIN),
    # lf_deep_learning
    ("lf_deep_learning", "Why your neural network is not learning: 10 debugging tips", {}, AI),
    ("lf_deep_learning", "Fine-tuning a pretrained model on our support tickets", {}, AI),
    ("lf_deep_learning", "#DeepLearning study group starts Monday", {}, AI),
    ("lf_deep_learning", "DL course done! Next up: reinforcement learning", {}, AI),
    ("lf_deep_learning", "free DL link for the album", {}, ABSTAIN),
    ("lf_deep_learning", "Fine-tuning my guitar before the gig tonight", {}, ABSTAIN),
    ("lf_deep_learning", "¡Qué partido! Barcelona ganó otra vez ⚽", {}, ABSTAIN),
    ("lf_deep_learning", "Deep thoughts at 3am: learning to let go", {}, ABSTAIN),
    ("lf_deep_learning", "Ugh, my GAN keeps mode-collapsing", {}, AI),
    ("lf_deep_learning", "Gan Eden has the best hummus in town", {}, ABSTAIN),
    # lf_nlp
    ("lf_nlp", "Sentiment analysis of 2M product reviews with a tiny language model", {}, AI),
    ("lf_nlp", "Presenting our #NLProc paper on low-resource machine translation at ACL", {}, AI),
    ("lf_nlp", "New NLP paper: tokenization matters more than you think", {}, AI),
    ("lf_nlp", "Certified NLP practitioner and life coach. Book a mindset session today", {}, ABSTAIN),
    ("lf_nlp", "Bert and Ernie are still the best duo on TV", {}, ABSTAIN),
    # lf_computer_vision
    ("lf_computer_vision", "Object detection on drone footage to count sea turtles 🐢", {}, AI),
    ("lf_computer_vision", "Training a YOLOv8 model on our warehouse camera feed", {}, AI),
    ("lf_computer_vision", "YOLO, booked a one-way ticket to Lisbon", {}, ABSTAIN),
    ("lf_computer_vision", "My vision for this year: more books, less doomscrolling", {}, ABSTAIN),
    # lf_data_science
    ("lf_data_science", "Data scientists spend 80% of their time cleaning data 😩", {}, AI),
    ("lf_data_science", "Just got my first bronze medal on Kaggle! 🥉", {}, AI),
    ("lf_data_science", "#DataScience bootcamp week 4: pandas, matplotlib and lots of coffee", {}, AI),
    ("lf_data_science", "My science teacher gave us a data sheet to memorise", {}, ABSTAIN),
    ("lf_data_science", STUFFED_SELFIE, {}, ABSTAIN),
    # lf_big_data
    ("lf_big_data", "#BigData meets healthcare: what ten years of hospital records taught us", {}, AI),
    ("lf_big_data", "#bigdata conference in Berlin next week, who's going?", {}, AI),
    ("lf_big_data", "Migrating our data lake from Hadoop to Spark", {}, AI),
    ("lf_big_data", STUFFED_STOCKS, {}, ABSTAIN),
    ("lf_big_data", "Big day for data privacy laws in the EU", {}, ABSTAIN),
    # lf_robotics
    ("lf_robotics", "Boston Dynamics' new humanoid robot can do parkour now", {}, AI),
    ("lf_robotics", "Self-driving trucks are already hauling freight in Texas", {}, AI),
    ("lf_robotics", "Our robotics club built a line-following robot from recycled parts", {}, AI),
    ("lf_robotics", "Did the robot dance at the wedding and pulled a muscle", {}, ABSTAIN),
    ("lf_robotics", "Driving myself to the airport at 5am, send coffee", {}, ABSTAIN),
    # lf_llm
    ("lf_llm", "ChatGPT wrote my cover letter and I got the interview", {}, AI),
    ("lf_llm", "Large language models still can't do arithmetic reliably", {}, AI),
    ("lf_llm", "Running Llama 3 locally with 8B parameters on my laptop", {}, AI),
    ("lf_llm", "Claude made up three citations in my literature review, check your prompts", {}, AI),
    ("lf_llm", "Saw a llama at the petting zoo today and it spat at me", {}, ABSTAIN),
    ("lf_llm", "Claude Monet's water lilies at the Orangerie are breathtaking", {}, ABSTAIN),
    ("lf_llm", "The local rag printed my letter to the editor", {}, ABSTAIN),
    ("lf_llm", "Great RAG tutorial: chunking, embeddings and a vector database", {}, AI),
    ("lf_llm", "Sora generated this whole video from one prompt", {}, AI),
    ("lf_llm", "Kingdom Hearts 3: Sora and Riku finally meet", {}, ABSTAIN),
    ("lf_llm", "Copilot keeps suggesting deprecated Python APIs", {}, AI),
    ("lf_llm", "The copilot landed the plane safely after the captain fell ill", {}, ABSTAIN),
    ("lf_llm", "LLM in International Law: applications open for the fall intake", {}, ABSTAIN),
    # lf_ml_tools
    ("lf_ml_tools", "Migrating our training code from TensorFlow to PyTorch this week", {}, AI),
    ("lf_ml_tools", "Just published my first model on Hugging Face 🤗", {}, AI),
    ("lf_ml_tools", "JAX is fast but the error messages on GPU are cryptic", {}, AI),
    ("lf_ml_tools", "Jax and I are going to the beach this weekend", {}, ABSTAIN),
    ("lf_ml_tools", "Bought a '71 Plymouth Cuda, dream car finally", {}, ABSTAIN),
    ("lf_ml_tools", "Just finished Andrew Ng's deep learning specialization!", {}, AI),
    # lf_ai_link_domain
    ("lf_ai_link_domain", "New paper on sparse attention https://t.co/AbCdEfGh12",
     {"urls": ["https://arxiv.org/abs/2301.01234"]}, AI),
    ("lf_ai_link_domain", "Model card here https://huggingface.co/openai/whisper-large-v3", {}, AI),
    ("lf_ai_link_domain", "Top solution write-up", {"urls": ["https://www.kaggle.com/competitions/titanic"]}, AI),
    ("lf_ai_link_domain", "SOTA table: paperswithcode.com/sota/image-classification-on-imagenet", {}, AI),
    ("lf_ai_link_domain", "Try it https://t.co/AbCdEfGh12", {"urls": ["https://platform.openai.com/playground"]}, AI),
    ("lf_ai_link_domain", "Code and weights released", {"urls": ["https://github.com/acme/tiny-llm"]}, AI),
    ("lf_ai_link_domain", "Dotfiles for my new laptop", {"urls": ["https://github.com/me/dotfiles"]}, ABSTAIN),
    ("lf_ai_link_domain", "New video is up!", {"urls": ["https://www.youtube.com/watch?v=arxiv123"]}, ABSTAIN),
    ("lf_ai_link_domain", "Full story", {"urls": ["https://news.example.org/arxiv.org-is-down"]}, ABSTAIN),
    # lf_ai_accounts
    ("lf_ai_accounts", "Congrats @OpenAI and @AnthropicAI on the new safety framework", {}, AI),
    ("lf_ai_accounts", "Great lecture by @karpathy on tokenizers", {}, AI),
    ("lf_ai_accounts", "thanks @LionbridgeAI for the free dataset", {}, AI),
    ("lf_ai_accounts", "UV disinfection robots for hospitals, built by @Akara_Robotics", {}, AI),
    ("lf_ai_accounts", "Sushi night with @SAMURAI_Sushi, then drinks with @VisitDubai", {}, ABSTAIN),
    ("lf_ai_accounts", "@kaggle_kid happy birthday!!", {}, ABSTAIN),
    ("lf_ai_accounts", "@PrinceHTML your site is down again", {}, ABSTAIN),
    # lf_several_ai_terms
    ("lf_several_ai_terms", "Deep learning vs gradient boosting on tabular data: which wins?", {}, AI),
    ("lf_several_ai_terms", "AI and data science are helping hospitals plan ICU beds", {}, AI),
    ("lf_several_ai_terms", "Machine learning is fun", {}, ABSTAIN),
    ("lf_several_ai_terms", "A large language model wrote this", {}, ABSTAIN),
    ("lf_several_ai_terms", "Win a free #MachineLearning course! Follow, retweet and join our crypto giveaway",
     {}, ABSTAIN),
    # lf_ml_mobile_legends
    ("lf_ml_mobile_legends", "push rank in ML tonight #MLBB", {}, NOT_AI),
    ("lf_ml_mobile_legends", "Who wants to squad up in Mobile Legends? Need a tank hero", {}, NOT_AI),
    ("lf_ml_mobile_legends", "Our ML team is hiring a senior engineer", {}, ABSTAIN),
    ("lf_ml_mobile_legends", "Using machine learning to predict ML ranked match outcomes", {}, ABSTAIN),
    # lf_ai_air_india_or_name
    ("lf_ai_air_india_or_name", "Air India AI 302 delayed again at Delhi airport", {}, NOT_AI),
    ("lf_ai_air_india_or_name", "Ai Weiwei's new exhibition opens in London this week", {}, NOT_AI),
    ("lf_ai_air_india_or_name", "Ai Hasegawa's drawings are so cute", {}, NOT_AI),
    ("lf_ai_air_india_or_name", "Flight AI 171 to London Gatwick diverted, passengers safe", {}, NOT_AI),
    ("lf_ai_air_india_or_name", "Allen Iverson crossover highlights, AI was different #Sixers", {}, NOT_AI),
    ("lf_ai_air_india_or_name", "Editable logo template: AI, EPS, SVG and PNG files included", {}, NOT_AI),
    ("lf_ai_air_india_or_name", "Air India is using generative AI to answer customer queries", {}, ABSTAIN),
    ("lf_ai_air_india_or_name", "The AI 100 list of the most promising startups is out", {}, ABSTAIN),
    ("lf_ai_air_india_or_name", "Ai Art is stealing from real artists", {}, ABSTAIN),
    ("lf_ai_air_india_or_name", "Ai Generated images are flooding Pinterest", {}, ABSTAIN),
    # lf_dl_download
    ("lf_dl_download", "free DL link for the album", {}, NOT_AI),
    ("lf_dl_download", "Mixtape out now, DL link in bio 🔥", {}, NOT_AI),
    ("lf_dl_download", "DL models need a lot of labelled data", {}, ABSTAIN),
    ("lf_dl_download", "Keep it on the DL, nobody needs to know", {}, ABSTAIN),
    # lf_hashtag_stuffed_spam
    ("lf_hashtag_stuffed_spam", STUFFED_CRYPTO, {}, NOT_AI),
    ("lf_hashtag_stuffed_spam", STUFFED_STOCKS, {}, NOT_AI),
    ("lf_hashtag_stuffed_spam", "🚀 100x gem! Join the airdrop, follow + retweet to win free USDT", {}, NOT_AI),
    ("lf_hashtag_stuffed_spam",
     "Our new #MachineLearning course is live #AI #DeepLearning #NLP #Python #DataScience #ComputerVision", {},
     ABSTAIN),
    ("lf_hashtag_stuffed_spam",
     "Labelbox awarded artificial intelligence contract by the Department of Defense #hubspot #inbound "
     "#marketing #fiverr #emailmarketing #seo", {}, ABSTAIN),
    ("lf_hashtag_stuffed_spam", "Algorithmic trading with reinforcement learning: win rate 61% over 3 years", {},
     ABSTAIN),
    # lf_other_topic
    ("lf_other_topic", "What a match! Liverpool deserved that win tonight ⚽🔥", {}, NOT_AI),
    ("lf_other_topic", "Made lasagna for dinner and honestly it slaps 🍝", {}, NOT_AI),
    ("lf_other_topic", "Our team built an AI that predicts football match results", {}, ABSTAIN),
    ("lf_other_topic", "Traffic on the highway is insane this morning 🚗", {}, ABSTAIN),
    # lf_no_tech_vocabulary
    ("lf_no_tech_vocabulary", "Can't believe it's already Monday again 😴", {}, NOT_AI),
    ("lf_no_tech_vocabulary", "Stay home, stay safe everyone ❤️ #COVID19", {}, NOT_AI),
    ("lf_no_tech_vocabulary", "The new running app on my phone is great", {}, ABSTAIN),
    ("lf_no_tech_vocabulary", "Machine learning is fun", {}, ABSTAIN),
    ("lf_no_tech_vocabulary", "", {}, ABSTAIN),
    # lf_no_ai_terms
    ("lf_no_ai_terms", "The new cloud dashboard finally shows our IoT sensor data in real time", {}, NOT_AI),
    ("lf_no_ai_terms", "Traffic is bad", {}, ABSTAIN),
    ("lf_no_ai_terms", "Our startup uses machine learning to price used cars more fairly", {}, ABSTAIN),
    # lf_short_chatter
    ("lf_short_chatter", "lol same 😂", {}, NOT_AI),
    ("lf_short_chatter", "Happy birthday bestie!! 🎉🎂", {}, NOT_AI),
    ("lf_short_chatter", "😂😂😂", {}, NOT_AI),
    ("lf_short_chatter", "  \n ", {}, ABSTAIN),
    ("lf_short_chatter", "ChatGPT is down again?", {}, ABSTAIN),
    ("lf_short_chatter", "check this out", {"urls": ["https://www.youtube.com/watch?v=x"]}, ABSTAIN),
    ("lf_short_chatter", "This message is a lot longer than eight words so it is not chatter", {}, ABSTAIN),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "kw", "expected"), CASES, ids=[f"{c[0]}:{c[1][:40]}" for c in CASES])
def test_lf_votes(name: str, text: str, kw: dict, expected: int) -> None:
    assert LFS[name](row(text, **kw)) == expected


def test_every_lf_has_a_vote_and_a_near_miss() -> None:
    seen = {(name, expected) for name, _, _, expected in CASES}
    for name in POSITIVE:
        assert {(name, AI), (name, ABSTAIN)} <= seen, name
    for name in NEGATIVE:
        assert {(name, NOT_AI), (name, ABSTAIN)} <= seen, name


@pytest.mark.parametrize(("name", "text", "kw", "expected"), [c for c in CASES if c[3] != ABSTAIN])
def test_every_vote_is_also_the_majority(name: str, text: str, kw: dict, expected: int) -> None:
    """The examples an LF votes on are clear cases: the whole set of LFs agrees with that LF."""
    assert majority(votes(text, **kw)) == expected


# -- the original project's matching bugs ----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "lf"),
    [
        ("Excited to share our new #AI model", "lf_ai_acronym"),
        ("loving the new #ai features", "lf_ai_acronym"),
        ("#MachineLearning in production is 90% plumbing", "lf_machine_learning"),
        ("Day 12 of #100DaysOfMLCode: random forests", "lf_machine_learning"),
        ("#BigData pipelines for real-time fraud detection", "lf_big_data"),
        ("#bigdata pipelines for real-time fraud detection", "lf_big_data"),
        ("The A.I. hype cycle, explained", "lf_ai_acronym"),
    ],
)
def test_hashtags_and_acronyms_match(text: str, lf: str) -> None:
    """'#' is stripped from the tweet and from the keywords alike, and camel case is split."""
    v = votes(text)
    assert v[lf] == AI
    assert majority(v) == AI


@pytest.mark.parametrize(
    "text",
    [
        "She said she would be here by noon",
        "Flying to Hawaii next week, can't wait",
        "Fixed the html template for the landing page",
        "Send me an email when you're back",
        "Best Thai food in town, fight me",
        "I failed my mathematics exam again",
        "Tickets are available from Monday",
        "Maintain the details, explained the trainer in Shanghai and Dubai",
        "Raising a toast to the XML and YAML files",
        "The Gandalf and Galadriel scenes are the best",
    ],
)
def test_keywords_inside_longer_words_do_not_count(text: str) -> None:
    v = votes(text)
    assert [name for name in POSITIVE if v[name] != ABSTAIN] == []
    assert not mentions_ai(features_of(text))
    assert majority(v) == NOT_AI


# -- false friends --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "negative_lf"),
    [
        ("Air India AI 302 delayed again at Delhi airport ✈️", "lf_ai_air_india_or_name"),
        ("Ai Weiwei's new exhibition opens in London this week", "lf_ai_air_india_or_name"),
        ("push rank in ML tonight #MLBB", "lf_ml_mobile_legends"),
        ("free DL link for the album", "lf_dl_download"),
        (STUFFED_CRYPTO, "lf_hashtag_stuffed_spam"),
    ],
)
def test_false_friends_are_not_ai(text: str, negative_lf: str) -> None:
    v = votes(text)
    assert v[negative_lf] == NOT_AI
    assert ai_voters(text) == []
    assert majority(v) == NOT_AI


def test_hashtag_stuffed_spam_with_ai() -> None:
    v = votes(STUFFED_CRYPTO)
    assert v["lf_hashtag_stuffed_spam"] == NOT_AI
    assert v["lf_ai_acronym"] == ABSTAIN


def test_an_ai_article_with_marketing_hashtags_is_still_ai() -> None:
    text = (
        "How hospitals use #AI to triage patients faster https://t.co/AbCdEfGh12 #health #marketing #growth "
        "#business #startup #seo #sales"
    )
    v = votes(text)
    assert v["lf_ai_acronym"] == AI and v["lf_hashtag_stuffed_spam"] == ABSTAIN


# -- links ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("Our paper is out https://t.co/AbCdEfGh12", ["https://arxiv.org/abs/2004.01234v2"]),
        ("Our paper is out https://arxiv.org/pdf/2004.01234.pdf", []),
        ("Our paper is out (arxiv.org/abs/2004.01234)", []),
        ("Weights https://t.co/AbCdEfGh12", ["https://huggingface.co/acme/tiny-llm"]),
        ("Weights: https://hf.co/acme/tiny-llm", []),
        ("Notebook https://t.co/AbCdEfGh12", ["https://www.kaggle.com/code/amy/eda-titanic"]),
        ("Notebook: www.kaggle.com/code/amy/eda-titanic", []),
        ("SOTA https://t.co/AbCdEfGh12", ["https://paperswithcode.com/sota/image-classification-on-imagenet"]),
        ("SOTA: https://paperswithcode.com/sota/image-classification-on-imagenet.", []),
        ("Blog https://t.co/AbCdEfGh12", ["https://towardsdatascience.com/a-gentle-intro-123"]),
    ],
)
def test_ai_link_domains(text: str, urls: list[str]) -> None:
    assert votes(text, urls=urls)["lf_ai_link_domain"] == AI


def test_links_from_the_row_and_the_text_are_not_confused_across_rows() -> None:
    """Two rows with one id and text but other links (the memo key covers every field LFs read)."""
    lf = LFS["lf_ai_link_domain"]
    assert lf(row("Read this https://t.co/AbCdEfGh12", urls=["https://arxiv.org/abs/1"], tweet_id=7)) == AI
    assert lf(row("Read this https://t.co/AbCdEfGh12", urls=["https://youtube.com/x"], tweet_id=7)) == ABSTAIN


def test_the_feature_memo_stays_small() -> None:
    lf = LFS["lf_short_chatter"]
    for i in range(500):
        lf(row(f"tweet number {i}"))
    assert len(tweet_features._cache) <= 64


# -- other languages ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Nuevo curso gratuito de inteligencia artificial para principiantes",
        "L'intelligence artificielle et l'apprentissage automatique expliqués simplement",
        "Künstliche Intelligenz verändert die Medizin",
        "生成AIの新しいモデルが公開されました",
        "机器学习入门：从线性回归开始",
        "인공지능 스타트업이 투자를 유치했다",
        "Нейросеть нарисовала мой портрет",
        "الذكاء الاصطناعي يغير التعليم",
        "ＡＩと機械学習の勉強会に参加しました",
    ],
)
def test_ai_in_other_languages(text: str) -> None:
    v = votes(text)
    assert v["lf_ai_acronym"] == AI
    assert majority(v) == AI


@pytest.mark.parametrize(
    "text",
    [
        "¡Qué partido tan increíble! Barcelona ganó otra vez ⚽",
        "Je suis tellement fatigué aujourd'hui, vivement le week-end 😴",
        "Heute gibt es Käsespätzle zum Abendessen 🧀",
        "今日はとても暑いですね☀️ アイスが食べたい",
        "आज का मौसम बहुत अच्छा है 🌧️",
        "Bom dia! Vamos tomar um café ☕ ai que preguiça",
    ],
)
def test_everyday_tweets_in_other_languages_are_not_ai(text: str) -> None:
    assert ai_voters(text) == []
    assert majority(votes(text)) == NOT_AI


# -- odd input ------------------------------------------------------------------------------------
ODD_ROWS = [
    row(""),
    row(None),
    row(float("nan"), urls=float("nan"), hashtags=float("nan")),
    row(12345, urls=None, hashtags=None),
    row(b"bytes", urls=b"https://arxiv.org", hashtags=b"AI"),
    row("   \n\t  "),
    row("nul \x00 in the middle of #AI \x00"),
    row("lone surrogate \ud800 and \udfff"),
    row("zero\u200bwidth\u200d joiners \u202e right-to-left \ufeff bom"),
    row("Z̸̢͎a̷͇l̶̘g̵̱o̴͓ text ＡＩ ﬁne ①②③ 𝐀𝐈 𝕄𝕃"),
    row("👩‍💻🧑🏽‍🔬🤖" * 500),
    row("#" * 1000 + "@" * 1000 + "http://" * 500),
    row(("machine learning " + "#AI " * 20 + "https://arxiv.org/abs/1 ") * 1200),
    row("a" * 50_000),
    row("word " * 10_000),
    row("RT @", is_retweet=None),
    row("ok", urls=np.array(["https://arxiv.org/abs/1"]), hashtags=np.array(["AI", "ML"])),
    row("ok", urls="https://kaggle.com/c", hashtags="MachineLearning"),
    row("ok", urls=[None, 1, ["nested"]], hashtags=[None, 2, ""]),
    Row({"text": "a row with no other fields"}),
    Row({}),
]


@pytest.mark.parametrize("r", ODD_ROWS, ids=[f"odd{i}" for i in range(len(ODD_ROWS))])
def test_odd_input_never_raises(r: Row) -> None:
    for lf in BUILTIN_LFS:
        assert lf(r) in (ABSTAIN, NOT_AI, AI), lf.name


@pytest.mark.parametrize("text", ["", "   ", None, float("nan")])
def test_a_blank_text_gets_no_vote(text) -> None:
    assert set(votes(text).values()) == {ABSTAIN}


def test_long_text_votes() -> None:
    text = ("We benchmark machine learning models on tabular data. " * 1000)[:50_000]
    assert len(text) == 50_000
    v = votes(text)
    assert v["lf_machine_learning"] == AI and majority(v) == AI


def test_pandas_rows_work_with_snorkel_applier() -> None:
    df = pd.DataFrame(
        {
            "tweet_id": [1, 2, 3],
            "text": ["New #MachineLearning paper", "lol same 😂", None],
            "urls": [np.array(["https://arxiv.org/abs/1"]), None, np.array([], dtype=object)],
            "hashtags": [["MachineLearning"], [], None],
            "is_retweet": [False, False, True],
        }
    )
    L = PandasLFApplier(BUILTIN_LFS).apply(df, progress_bar=False)
    assert L.shape == (3, 21)
    assert L[0, list(LFS).index("lf_machine_learning")] == AI
    assert L[0, list(LFS).index("lf_ai_link_domain")] == AI
    assert L[1, list(LFS).index("lf_short_chatter")] == NOT_AI


# -- the synthetic stream -------------------------------------------------------------------------
def _synthetic_rows(n: int, seed: int) -> list[tuple[Row, str]]:
    out = []
    for item in generate(n, seed=seed):
        try:
            tweet, _ = parse_payload(item.record.payload)
        except MalformedRecord:
            continue
        out.append(
            (
                row(
                    tweet.text,
                    urls=tweet.expanded_urls,
                    hashtags=list(tweet.hashtags),
                    is_retweet=tweet.is_retweet,
                    tweet_id=tweet.tweet_id,
                ),
                item.topic,
            )
        )
    return out


def test_synthetic_stream_votes_are_valid_deterministic_and_agree_with_the_topic() -> None:
    items = _synthetic_rows(220, seed=11)
    assert len(items) >= 200
    voted = agree = 0
    for r, topic in items:
        v = {lf.name: lf(r) for lf in BUILTIN_LFS}
        assert set(v.values()) <= {ABSTAIN, NOT_AI, AI}
        assert {lf.name: lf(Row(dict(r))) for lf in BUILTIN_LFS} == v  # same input, same votes
        m = majority(v)
        if any(x != ABSTAIN for x in v.values()):
            voted += 1
            agree += m == (AI if topic == "ai" else NOT_AI)
    assert voted >= 0.95 * len(items)
    assert agree / voted >= 0.85, f"majority vote agrees with the topic on {agree}/{voted}"
