"""Built-in labeling functions for "is this an AI / data-science tweet?".

Each LF is a Snorkel ``LabelingFunction`` that votes ``AI``, ``NOT_AI`` or
``ABSTAIN``. They read :class:`~streamsift.labeling.features.TweetFeatures`,
computed once per row by the :func:`tweet_features` preprocessor, so keyword
matches respect word boundaries and see inside (camel-case) hashtags.

Add your own: write a module with ``@labeling_function(pre=[tweet_features])``
functions (or any Snorkel LFs) and name it in ``labeling.lf_modules``.
"""

from __future__ import annotations

import re

from snorkel.labeling import LabelingFunction, labeling_function
from snorkel.preprocess import preprocessor

from streamsift.labeling.features import TweetFeatures, features_of

ABSTAIN = -1
NOT_AI = 0
AI = 1


@preprocessor(memoize=True, memoize_key=lambda x: (x.get("tweet_id"), x.get("text")))
def tweet_features(x):
    """Attach ``x.f``: the tweet's :class:`TweetFeatures`."""
    x.f = features_of(x.get("text"), x.get("urls"), x.get("hashtags"), bool(x.get("is_retweet")))
    return x


def _f(x) -> TweetFeatures:
    return x.f


# -- keyword families ---------------------------------------------------------------------------
AI_CORE = frozenset(
    {
        "artificial intelligence",
        "artificialintelligence",
        "generative ai",
        "genai",
        "responsible ai",
        "explainable ai",
        "xai",
        "ai ethics",
        "ai model",
        "ai models",
        "ai research",
        "ai researchers",
        "ai powered",
        "ai driven",
        "ai startup",
        "ai tools",
        "ai tool",
        "ai system",
        "ai systems",
        "ai safety",
        "ai alignment",
        "agi",
    }
)
ML = frozenset(
    {
        "machine learning",
        "machinelearning",
        "ml model",
        "ml models",
        "mlops",
        "ml engineer",
        "ml engineers",
        "ml research",
        "ml pipeline",
        "automl",
        "supervised learning",
        "unsupervised learning",
        "self supervised",
        "semi supervised",
        "reinforcement learning",
        "federated learning",
        "transfer learning",
        "few shot",
        "zero shot",
        "contrastive learning",
        "feature engineering",
        "gradient boosting",
        "xgboost",
        "random forest",
        "logistic regression",
        "classifier",
        "hyperparameter",
        "hyperparameters",
        "overfitting",
        "100daysofmlcode",
    }
)
DL = frozenset(
    {
        "deep learning",
        "deeplearning",
        "neural network",
        "neural networks",
        "neural net",
        "neural nets",
        "convolutional",
        "cnn model",
        "rnn",
        "lstm",
        "transformer model",
        "transformer models",
        "attention mechanism",
        "backpropagation",
        "gradient descent",
        "diffusion model",
        "diffusion models",
        "gan",
        "gans",
        "generative adversarial",
        "autoencoder",
        "embeddings",
        "fine tuning",
        "fine tuned",
        "finetuning",
        "pretrained",
        "pre trained",
    }
)
NLP = frozenset(
    {
        "natural language processing",
        "nlp",
        "nlproc",
        "language model",
        "language models",
        "bert",
        "word embeddings",
        "sentiment analysis",
        "named entity recognition",
        "text classification",
        "machine translation",
        "speech recognition",
        "chatbot",
        "chatbots",
        "conversational ai",
    }
)
CV = frozenset(
    {
        "computer vision",
        "computervision",
        "image recognition",
        "object detection",
        "image classification",
        "image segmentation",
        "facial recognition",
        "face recognition",
        "opencv",
        "yolo",
    }
)
DATA_SCIENCE = frozenset(
    {
        "data science",
        "datascience",
        "data scientist",
        "data scientists",
        "data analytics",
        "data analysis",
        "data analyst",
        "data engineering",
        "data engineer",
        "data mining",
        "predictive analytics",
        "predictive modeling",
        "predictive modelling",
        "statistical learning",
        "data viz",
        "data visualization",
        "dataviz",
        "kaggle",
        "jupyter",
        "pandas dataframe",
    }
)
BIG_DATA = frozenset(
    {
        "big data",
        "bigdata",
        "data lake",
        "apache spark",
        "pyspark",
        "hadoop",
        "data pipeline",
        "data pipelines",
        "kafka streams",
    }
)
ROBOTICS = frozenset(
    {
        "robotics",
        "robotic process automation",
        "rpa",
        "autonomous vehicles",
        "self driving",
        "autonomous driving",
        "humanoid robot",
        "robot arm",
        "cobots",
    }
)
LLM = frozenset(
    {
        "llm",
        "llms",
        "large language model",
        "large language models",
        "chatgpt",
        "gpt 3",
        "gpt3",
        "gpt 4",
        "gpt4",
        "gpt 2",
        "gpt2",
        "openai",
        "prompt engineering",
        "rag",
        "retrieval augmented",
        "hallucination",
        "hallucinations",
        "foundation model",
        "foundation models",
        "llama",
        "mistral",
        "claude",
        "gemini ai",
    }
)
TOOLS = frozenset(
    {
        "tensorflow",
        "pytorch",
        "keras",
        "scikit learn",
        "scikitlearn",
        "sklearn",
        "hugging face",
        "huggingface",
        "deepmind",
        "openai",
        "nvidia gpu",
        "cuda",
        "onnx",
        "mlflow",
        "weights biases",
        "spacy",
        "fastai",
        "jax",
    }
)
ALL_POSITIVE = AI_CORE | ML | DL | NLP | CV | DATA_SCIENCE | BIG_DATA | ROBOTICS | LLM | TOOLS

AI_DOMAINS = frozenset(
    {
        "arxiv.org",
        "huggingface.co",
        "kaggle.com",
        "paperswithcode.com",
        "towardsdatascience.com",
        "openai.com",
        "deepmind.com",
        "deepmind.google",
        "distill.pub",
        "machinelearningmastery.com",
        "analyticsvidhya.com",
        "kdnuggets.com",
        "ai.googleblog.com",
        "ai.facebook.com",
        "ai.meta.com",
        "research.google",
        "bair.berkeley.edu",
        "pytorch.org",
        "tensorflow.org",
        "keras.io",
        "fast.ai",
        "datasciencecentral.com",
        "thegradient.pub",
        "lilianweng.github.io",
        "colab.research.google.com",
        "anthropic.com",
        "mlflow.org",
        "wandb.ai",
        "openreview.net",
        "aclanthology.org",
        "jmlr.org",
        "neurips.cc",
        "icml.cc",
        "iclr.cc",
        "marktechpost.com",
        "venturebeat.com/ai",
        "syncedreview.com",
    }
)

# "AI" as an acronym in running text: upper-case, or "A.I."; not "Ai" (a name) or "ai" (other languages)
_AI_ACRONYM = re.compile(r"(?<![\w#@.-])(?:AI|A\.I\.)(?![\w-]*\d)(?!\w)")
_ML_ACRONYM = re.compile(r"(?<![\w#@])ML(?!\w)")
_DL_ACRONYM = re.compile(r"(?<![\w#@])DL(?!\w)")
_AIR_INDIA_FLIGHT = re.compile(r"\bAI[ -]?\d{2,4}\b")
_HASHTAGS = re.compile(r"#\w+")
_AI_PERSON = re.compile(r"\bAi\s+(?:Weiwei|Hasegawa|Shinozaki|Otsuka|Kago|Takahashi|Uehara|[A-Z][a-z]+)")


def _votes_positive(f: TweetFeatures, family: frozenset[str]) -> int:
    return AI if f.has_any(family) else ABSTAIN


# -- positive LFs: keyword families ---------------------------------------------------------------
@labeling_function(pre=[tweet_features])
def lf_ai_acronym(x) -> int:
    """ "AI" written as the acronym (or A.I., #AI) or "artificial intelligence" - not Air India, not a name."""
    f = _f(x)
    if f.has_any(AI_CORE):
        return AI
    if _AIR_INDIA_FLIGHT.search(f.text) or f.has("air india") or _AI_PERSON.search(f.text):
        return ABSTAIN
    if _is_hashtag_stuffed(f) and not _AI_ACRONYM.search(_HASHTAGS.sub(" ", f.text)):
        return ABSTAIN  # "#AI" as one buzzword among many: lf_hashtag_stuffed_spam's call
    if _AI_ACRONYM.search(f.text) or "ai" in f.hashtags:
        return AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_machine_learning(x) -> int:
    """Machine learning phrases, #MachineLearning, or "ML" the acronym outside gaming talk."""
    f = _f(x)
    if f.has_any(ML):
        return AI
    if (_ML_ACRONYM.search(f.text) or "ml" in f.hashtags) and not _is_gaming(f):
        return AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_deep_learning(x) -> int:
    """Deep learning and neural-network vocabulary; "DL" only when it is not a download."""
    f = _f(x)
    if f.has_any(DL):
        return AI
    if (_DL_ACRONYM.search(f.text) or "dl" in f.hashtags) and not _is_download(f) and f.has_any(ALL_POSITIVE):
        return AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_nlp(x) -> int:
    """Natural language processing vocabulary."""
    return _votes_positive(_f(x), NLP)


@labeling_function(pre=[tweet_features])
def lf_computer_vision(x) -> int:
    """Computer vision vocabulary."""
    return _votes_positive(_f(x), CV)


@labeling_function(pre=[tweet_features])
def lf_data_science(x) -> int:
    """Data science / analytics vocabulary."""
    return _votes_positive(_f(x), DATA_SCIENCE)


@labeling_function(pre=[tweet_features])
def lf_big_data(x) -> int:
    """Big data vocabulary - unless it is one buzzword in a hashtag-stuffed post."""
    f = _f(x)
    if f.has_any(BIG_DATA) and not _is_hashtag_stuffed(f):
        return AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_robotics(x) -> int:
    """Robotics and autonomy vocabulary."""
    return _votes_positive(_f(x), ROBOTICS)


@labeling_function(pre=[tweet_features])
def lf_llm(x) -> int:
    """Large language models, ChatGPT and friends."""
    return _votes_positive(_f(x), LLM)


@labeling_function(pre=[tweet_features])
def lf_ml_tools(x) -> int:
    """ML libraries and labs (TensorFlow, PyTorch, Hugging Face, DeepMind, ...)."""
    return _votes_positive(_f(x), TOOLS)


@labeling_function(pre=[tweet_features])
def lf_ai_link_domain(x) -> int:
    """Links to AI / ML sites: arXiv, Hugging Face, Kaggle, Papers with Code, ..."""
    f = _f(x)
    for d in f.domains:
        if d in AI_DOMAINS or d.endswith((".arxiv.org", ".huggingface.co", ".kaggle.com")):
            return AI
    return ABSTAIN


AI_HANDLES = frozenset(
    {
        "tensorflow",
        "pytorch",
        "openai",
        "deepmind",
        "googleai",
        "googledeepmind",
        "metaai",
        "huggingface",
        "kaggle",
        "nvidiaai",
        "msftresearch",
        "ibmresearch",
        "ibmwatson",
        "aiethics",
        "anthropicai",
        "mistralai",
        "stanfordai",
        "berkeley_ai",
        "mit_csail",
        "tdatascience",
        "kdnuggets",
        "analyticsvidhya",
        "paperswithcode",
        "ylecun",
        "karpathy",
        "andrewyng",
        "goodfellow_ian",
        "jeffdean",
        "demishassabis",
        "fchollet",
    }
)
_AI_HANDLE_SUFFIX = re.compile(r"(?:AI|_ai|ML|_ml|DataScience)$")


@labeling_function(pre=[tweet_features])
def lf_ai_accounts(x) -> int:
    """Mentions AI labs, libraries or people (@OpenAI, @TensorFlow, @karpathy) or a handle ending in AI/ML."""
    f = _f(x)
    for m in f.mentions:
        if m.lower() in AI_HANDLES or (_AI_HANDLE_SUFFIX.search(m) and len(m) > 3):
            return AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_several_ai_terms(x) -> int:
    """Two or more distinct AI/DS terms: a strong sign, even in a hashtag-heavy post."""
    f = _f(x)
    hits = f.count_any(ALL_POSITIVE) + (1 if _AI_ACRONYM.search(f.text) else 0)
    return AI if hits >= 2 and not _is_spam(f) else ABSTAIN


# -- negative LFs: false friends, spam, other topics -----------------------------------------------
_GAMING = frozenset(
    {
        "mobile legends",
        "mobilelegends",
        "mlbb",
        "mobile legend",
        "rank",
        "ranked",
        "mythic",
        "epic",
        "legend",
        "hero",
        "heroes",
        "skin",
        "skins",
        "diamonds",
        "push rank",
        "gameplay",
        "squad",
        "gaming",
        "game",
        "games",
        "gamer",
    }
)
_DOWNLOAD = frozenset(
    {
        "download",
        "downloads",
        "free dl",
        "dl link",
        "mp3",
        "album",
        "mixtape",
        "movie",
        "torrent",
        "zip",
        "apk",
        "full movie",
        "stream",
        "leak",
        "leaked",
    }
)
_SPAM = frozenset(
    {
        "crypto",
        "bitcoin",
        "btc",
        "forex",
        "nft",
        "nfts",
        "giveaway",
        "airdrop",
        "trading",
        "win",
        "follow",
        "followback",
        "follow back",
        "retweet",
        "promo",
        "discount",
        "sale",
        "casino",
        "betting",
        "earn money",
        "make money",
        "onlyfans",
        "dm for",
        "usdt",
        "binance",
    }
)


def mentions_ai(f: TweetFeatures) -> bool:
    """Any AI / data-science term, the AI acronym, an #ai hashtag or a link to an AI site."""
    return (
        f.has_any(ALL_POSITIVE)
        or "ai" in f.hashtags
        or any(m.lower() in AI_HANDLES for m in f.mentions)
        or bool(_AI_ACRONYM.search(f.text))
        or any(d in AI_DOMAINS for d in f.domains)
    )


def _is_gaming(f: TweetFeatures) -> bool:
    return f.has_any(_GAMING)


def _is_download(f: TweetFeatures) -> bool:
    return f.has_any(_DOWNLOAD)


def _is_spam(f: TweetFeatures) -> bool:
    return f.count_any(_SPAM) >= 2


def _is_hashtag_stuffed(f: TweetFeatures) -> bool:
    """Many hashtags of which at most a third are AI/DS topics."""
    if f.n_hashtags < 6:
        return False
    ai_tags = sum(
        1
        for t in f.hashtags
        if f" {t} " in _POS_SINGLE or " ".join(_split(t)) in ALL_POSITIVE or t in {"ai", "ml", "iot"}
    )
    return ai_tags <= f.n_hashtags / 3


_POS_SINGLE = " " + " ".join(p for p in ALL_POSITIVE if " " not in p) + " "


def _split(tag: str) -> list[str]:
    from streamsift.labeling.features import split_hashtag

    return split_hashtag(tag)


@labeling_function(pre=[tweet_features])
def lf_ml_mobile_legends(x) -> int:
    """ "ML" meaning Mobile Legends (a game): not AI."""
    f = _f(x)
    if (_ML_ACRONYM.search(f.text) or "ml" in f.hashtags or f.has("mlbb") or f.has("mobile legends")) and _is_gaming(f):
        return NOT_AI if not f.has_any(ML) else ABSTAIN
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_ai_air_india_or_name(x) -> int:
    """ "AI" meaning Air India (flights) or a person called Ai: not AI."""
    f = _f(x)
    if f.has_any(AI_CORE | ML | DL):
        return ABSTAIN
    if f.has("air india") or _AIR_INDIA_FLIGHT.search(f.text) or _AI_PERSON.search(f.text):
        return NOT_AI
    if _AI_ACRONYM.search(f.text) and f.has_any(
        frozenset({"flight", "flights", "airport", "airline", "pilot", "boarding", "delayed", "passengers"})
    ):
        return NOT_AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_dl_download(x) -> int:
    """ "DL" meaning download: not AI."""
    f = _f(x)
    if (_DL_ACRONYM.search(f.text) or "dl" in f.hashtags) and _is_download(f) and not f.has_any(DL | ML):
        return NOT_AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_hashtag_stuffed_spam(x) -> int:
    """Hashtag-stuffed promotion where AI is one buzzword among crypto, giveaways, ...: not AI."""
    f = _f(x)
    if _is_hashtag_stuffed(f) and (_is_spam(f) or f.count_any(ALL_POSITIVE) <= 1):
        return NOT_AI
    if _is_spam(f) and f.count_any(ALL_POSITIVE) <= 1:
        return NOT_AI
    return ABSTAIN


_OTHER_TOPICS = frozenset(
    {
        # sport
        "match",
        "goal",
        "goals",
        "football",
        "soccer",
        "nba",
        "nfl",
        "cricket",
        "league",
        "playoffs",
        "coach",
        "team",
        "season",
        "fans",
        "stadium",
        "championship",
        "referee",
        # entertainment
        "album",
        "song",
        "songs",
        "concert",
        "movie",
        "movies",
        "episode",
        "netflix",
        "music",
        "singer",
        "tour",
        "kpop",
        "bts",
        "fandom",
        "actor",
        "actress",
        # food & life
        "dinner",
        "lunch",
        "breakfast",
        "recipe",
        "pizza",
        "coffee",
        "birthday",
        "wedding",
        "baby",
        "mom",
        "dad",
        "weekend",
        "sleep",
        "tired",
        "lol",
        "lmao",
        "omg",
        "haha",
        "love you",
        "miss you",
        # politics & news
        "election",
        "president",
        "senate",
        "congress",
        "vote",
        "voters",
        "trump",
        "biden",
        "minister",
        "parliament",
        "governor",
        "police",
        # weather, travel, shopping
        "weather",
        "rain",
        "sunny",
        "vacation",
        "beach",
        "flight",
        "sale",
        "discount",
        "fashion",
        "outfit",
    }
)


@labeling_function(pre=[tweet_features])
def lf_other_topic(x) -> int:
    """Sport, entertainment, food, politics, everyday life, with no AI/DS term: not AI."""
    f = _f(x)
    if f.count_any(_OTHER_TOPICS) >= 1 and not mentions_ai(f):
        return NOT_AI
    return ABSTAIN


_TECH_HINTS = frozenset(
    {
        "data",
        "model",
        "models",
        "algorithm",
        "algorithms",
        "research",
        "paper",
        "dataset",
        "datasets",
        "tech",
        "technology",
        "automation",
        "automated",
        "analytics",
        "digital",
        "software",
        "python",
        "code",
        "coding",
        "developer",
        "developers",
        "cloud",
        "iot",
        "computing",
        "compute",
        "gpu",
        "gpus",
        "startup",
        "startups",
        "innovation",
        "intelligent",
        "smart",
        "predict",
        "prediction",
        "predictions",
        "training",
        "trained",
        "learning",
        "robot",
        "robots",
        "neural",
        "vision",
        "language",
        "science",
        "scientist",
        "scientists",
        "engineer",
        "engineering",
        "statistics",
        "math",
        "bot",
        "bots",
        "programming",
        "api",
        "app",
        "apps",
    }
)


@labeling_function(pre=[tweet_features])
def lf_no_tech_vocabulary(x) -> int:
    """No AI/DS term and no technology word at all: not AI (the bulk of a mixed stream)."""
    f = _f(x)
    if f.n_words == 0 or mentions_ai(f) or f.has_any(_TECH_HINTS):
        return ABSTAIN
    return NOT_AI


@labeling_function(pre=[tweet_features])
def lf_no_ai_terms(x) -> int:
    """A real sentence (8+ words) with no AI / data-science term, acronym, hashtag or link: not AI.

    Broader (and less sure) than lf_no_tech_vocabulary: tech-but-not-AI posts (IoT, cloud, apps) land here.
    """
    f = _f(x)
    return NOT_AI if f.n_words >= 8 and not mentions_ai(f) else ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_short_chatter(x) -> int:
    """Short replies and chatter (under 8 words) without AI terms: not AI."""
    f = _f(x)
    if f.n_words < 8 and not mentions_ai(f) and not f.domains:
        return NOT_AI
    return ABSTAIN


BUILTIN_LFS: list[LabelingFunction] = [
    lf_ai_acronym,
    lf_machine_learning,
    lf_deep_learning,
    lf_nlp,
    lf_computer_vision,
    lf_data_science,
    lf_big_data,
    lf_robotics,
    lf_llm,
    lf_ml_tools,
    lf_ai_link_domain,
    lf_ai_accounts,
    lf_several_ai_terms,
    lf_ml_mobile_legends,
    lf_ai_air_india_or_name,
    lf_dl_download,
    lf_hashtag_stuffed_spam,
    lf_other_topic,
    lf_no_tech_vocabulary,
    lf_no_ai_terms,
    lf_short_chatter,
]

__all__ = ["ABSTAIN", "AI", "BUILTIN_LFS", "NOT_AI", "tweet_features"]
