"""Built-in labeling functions for "is this an AI / data-science tweet?".

Each LF is a Snorkel ``LabelingFunction`` that votes ``AI``, ``NOT_AI`` or
``ABSTAIN``. They read :class:`~streamsift.labeling.features.TweetFeatures`,
computed once per row by the :func:`tweet_features` preprocessor, so keyword
matches respect word boundaries and see inside (camel-case) hashtags.

Words that are often something else ("YOLO", "llama", "Claude", "fine-tuning",
"NLP" coaching, "GAN") count only beside other AI or technical vocabulary; a
term that is only one hashtag in a hashtag-stuffed post does not count.

Add your own: write a module with ``@labeling_function(pre=[tweet_features])``
functions (or any Snorkel LFs) and name it in ``labeling.lf_modules``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from snorkel.labeling import LabelingFunction, labeling_function
from snorkel.preprocess import LambdaPreprocessor

from streamsift.labeling.features import TweetFeatures, distinct_phrases, features_of, split_hashtag

ABSTAIN = -1
NOT_AI = 0
AI = 1


# -- the preprocessor ---------------------------------------------------------------------------
def _hashable(value: Any) -> Any:
    """``value`` itself if hashable, else as a tuple (a list or numpy array of URLs), else its repr."""
    try:
        hash(value)
        return value
    except TypeError:
        pass
    try:
        items = tuple(value)
        hash(items)
        return items
    except TypeError:
        return repr(value)


_PLAIN = (list, tuple, type(None))


def _row_key(x) -> tuple:
    """Everything the features read: two rows with one id but other links are not the same row."""
    get = x.get
    urls, tags = get("urls"), get("hashtags")
    if type(urls) in _PLAIN and type(tags) in _PLAIN:  # the common case, fast
        try:
            key = (get("tweet_id"), get("text"), tuple(urls or ()), tuple(tags or ()), get("is_retweet"))
            hash(key)
            return key
        except TypeError:
            pass
    return tuple(_hashable(get(k)) for k in ("tweet_id", "text", "urls", "hashtags", "is_retweet"))


class _RecentCache(dict):
    """A memo that keeps only the last few rows: every LF of a row runs before the next row."""

    max_entries = 64

    def __setitem__(self, key, value) -> None:
        if len(self) >= self.max_entries:
            self.clear()
        super().__setitem__(key, value)


class _FeaturesPreprocessor(LambdaPreprocessor):
    def reset_cache(self) -> None:
        self._cache = _RecentCache()


def _attach_features(x):
    """Attach ``x.f``: the tweet's :class:`TweetFeatures`."""
    x.f = features_of(x.get("text"), x.get("urls"), x.get("hashtags"), bool(x.get("is_retweet")))
    return x


#: Attaches ``x.f`` (the row's :class:`TweetFeatures`); memoised per row, memory bounded.
tweet_features = _FeaturesPreprocessor("tweet_features", _attach_features, memoize=True, memoize_key=_row_key)


def _f(x) -> TweetFeatures:
    return x.f


_T = TypeVar("_T")
# (features, {helper: result}) of the tweet the LFs are on: each helper runs once per tweet, not once per LF
_last: tuple[TweetFeatures | None, dict] = (None, {})


def _per_tweet(fn: Callable[[TweetFeatures], _T]) -> Callable[[TweetFeatures], _T]:
    """Memoise ``fn(f)`` for the current tweet (thread-safe: a state is swapped in whole)."""

    @functools.wraps(fn)
    def wrapper(f: TweetFeatures) -> _T:
        global _last
        state = _last
        if state[0] is not f:
            state = _last = (f, {})
        memo = state[1]
        if fn not in memo:
            memo[fn] = fn(f)
        return memo[fn]

    return wrapper


def _joined(*families: frozenset[str]) -> frozenset[str]:
    """The phrases plus each multi-word phrase without spaces: ``#deeplearning`` as written."""
    out = frozenset().union(*families)
    return out | {p.replace(" ", "") for p in out if " " in p}


# -- keyword families ---------------------------------------------------------------------------
# fmt: off
AI_CORE = _joined(frozenset({
    "artificial intelligence", "artificial inteligence", "artifical intelligence",
    "artificial general intelligence", "machine intelligence", "generative ai", "genai", "responsible ai",
    "explainable ai", "trustworthy ai", "xai", "ai ethics", "ai model", "ai models",
    "ai research", "ai researcher", "ai researchers", "ai powered", "ai driven", "ai based", "ai enabled",
    "ai assisted", "ai generated", "ai startup", "ai startups", "ai company", "ai companies", "ai lab", "ai labs",
    "ai tools", "ai tool", "ai system", "ai systems", "ai safety", "ai alignment", "ai art", "ai artwork",
    "ai chatbot", "ai agent", "ai agents", "ai assistant", "ai regulation", "ai act", "ai policy",
    "ai governance", "ai technology", "ai technologies", "ai algorithm", "ai algorithms", "ai applications",
    "ai solutions", "ai software", "ai platform", "ai chip", "ai chips", "ai engineer", "ai engineers",
    "ai developers", "ai folks", "ai twitter", "ai boyfriend", "ai girlfriend", "ai companion",
    "ai companions", "ai image", "ai images", "ai video", "ai videos", "ai music", "ai voice", "ai voices",
    "ai risk", "ai risks", "ai hype", "ai news", "ai for good",
    "ai in healthcare", "agi", "superintelligence", "cognitive computing",
}))
ML = _joined(frozenset({
    "machine learning", "ml model", "ml models", "mlops", "ml ops", "ml engineer", "ml engineers",
    "ml engineering", "ml research", "ml researcher", "ml researchers", "ml pipeline", "ml algorithms",
    "ml systems", "ml community", "ml folks", "ml twitter", "automl", "supervised learning", "unsupervised learning",
    "self supervised", "semi supervised", "reinforcement learning", "federated learning", "transfer learning",
    "ensemble learning", "few shot", "zero shot", "contrastive learning", "feature engineering",
    "gradient boosting", "xgboost", "lightgbm", "catboost", "random forest", "random forests",
    "logistic regression", "support vector machine", "support vector machines", "decision tree model",
    "classifier", "classifiers", "hyperparameter", "hyperparameters", "overfitting", "anomaly detection",
    "recommender system", "recommender systems", "training data", "labeled data", "labelled data",
    "data labeling", "data labelling", "100daysofmlcode",
}))
DL = _joined(frozenset({
    "deep learning", "neural network", "neural networks", "neural net", "neural nets", "convolutional",
    "cnn model", "cnns", "rnn", "rnns", "lstm", "lstms", "transformer model", "transformer models",
    "vision transformer", "attention mechanism", "self attention", "backpropagation", "gradient descent",
    "diffusion model", "diffusion models", "stable diffusion", "gan", "gans", "generative adversarial",
    "generative model", "generative models", "autoencoder", "autoencoders", "embeddings", "fine tuning",
    "fine tuned", "finetuning", "finetuned", "pretrained", "pre trained", "pretraining", "pre training",
    "deepfake", "deepfakes", "imagenet", "resnet",
}))
NLP = _joined(frozenset({
    "natural language processing", "natural language understanding", "natural language generation", "nlp",
    "nlproc", "language model", "language models", "bert", "word embeddings", "sentiment analysis",
    "named entity recognition", "text classification", "text mining", "question answering",
    "machine translation", "speech recognition", "computational linguistics", "chatbot", "chatbots",
    "chat bot", "chat bots", "conversational ai", "word2vec",
}))
CV = _joined(frozenset({
    "computer vision", "image recognition", "object detection", "image classification", "image segmentation",
    "semantic segmentation", "instance segmentation", "pose estimation", "facial recognition",
    "face recognition", "opencv", "yolo", "yolov3", "yolov4", "yolov5", "yolov7", "yolov8", "yolov9",
    "yolov10", "yolov11", "yolox",
}))
DATA_SCIENCE = _joined(frozenset({
    "data science", "data scientist", "data scientists", "data analytics", "data analysis", "data analyst",
    "data analysts", "data engineering", "data engineer", "data engineers", "data mining",
    "predictive analytics", "predictive modeling", "predictive modelling", "statistical learning",
    "statistical modeling", "statistical modelling", "data viz", "data visualization", "data visualisation",
    "dataviz", "kaggle", "jupyter", "pandas dataframe", "rstats", "tidyverse", "numpy", "scipy",
    "matplotlib", "exploratory data analysis", "data wrangling",
}))
BIG_DATA = _joined(frozenset({
    "big data", "data lake", "apache spark", "pyspark", "hadoop", "data pipeline", "data pipelines",
    "kafka streams", "databricks",
}))
ROBOTICS = _joined(frozenset({
    "robotics", "robotic process automation", "rpa", "intelligent automation", "autonomous vehicle",
    "autonomous vehicles", "autonomous cars", "self driving", "autonomous driving", "driverless cars",
    "humanoid robot", "humanoid robots", "robot arm", "robotic arm", "cobot", "cobots", "boston dynamics",
}))
LLM = _joined(frozenset({
    "llm", "llms", "large language model", "large language models", "chatgpt", "chat gpt", "gpt", "gpt 2",
    "gpt2", "gpt 3", "gpt3", "gpt 4", "gpt4", "gpt 4o", "gpt 5", "openai", "prompt engineering",
    "prompt engineer", "prompt injection", "rag", "retrieval augmented", "hallucination", "hallucinations",
    "foundation model", "foundation models", "llama", "llama 2", "llama 3", "llama cpp", "code llama",
    "mistral", "mistral ai", "mistral 7b", "mixtral", "claude", "claude ai", "claude 2", "claude 3",
    "gemini ai", "google gemini", "gemini pro", "google bard", "github copilot", "midjourney", "dall e",
    "dalle", "anthropic", "sora", "copilot", "rlhf", "chain of thought", "in context learning", "instruction tuning",
    "langchain", "llamaindex", "ollama", "vector database",
}))
TOOLS = _joined(frozenset({
    "tensorflow", "pytorch", "keras", "scikit learn", "sklearn", "hugging face", "deepmind", "openai",
    "nvidia gpu", "cuda", "onnx", "mlflow", "weights biases", "wandb", "spacy", "nltk", "fastai", "jax",
    "theano", "mxnet", "sagemaker", "vertex ai", "azure ml", "ibm watson", "google brain", "meta ai",
    # people
    "andrew ng", "geoffrey hinton", "yann lecun", "yoshua bengio", "demis hassabis", "fei fei li",
    "ilya sutskever", "andrej karpathy", "sam altman",
}))
ALL_POSITIVE = AI_CORE | ML | DL | NLP | CV | DATA_SCIENCE | BIG_DATA | ROBOTICS | LLM | TOOLS

#: Terms that are often something else ("YOLO", a llama, Claude Monet, fine-tuning a guitar, NLP coaching,
#: the GAN surname, AGI = adjusted gross income): they count only beside AI or technical vocabulary.
AMBIGUOUS = frozenset({
    "yolo", "fine tuning", "fine tuned", "hallucination", "hallucinations", "llama", "claude", "mistral",
    "bert", "rag", "gan", "gans", "jax", "cuda", "spacy", "nlp", "rpa", "gpt", "sora", "copilot",
})
_ACRONYM_CASED = re.compile(r"\b(?:GANs?|RAG|BERT|GPT)\b")
# beside an ambiguous term, these make it technical
_TECH_CONTEXT = frozenset({
    "model", "models", "dataset", "datasets", "inference", "weights", "parameters", "benchmark", "benchmarks",
    "paper", "papers", "research", "gpu", "gpus", "neural", "algorithm", "algorithms", "prompt", "prompts",
    "prompting", "token", "tokens", "open source", "opensource", "python", "api", "detection",
    "classification", "segmentation", "accuracy", "fine tune", "finetune", "lora", "quantized", "checkpoint",
    "checkpoints", "embedding", "vector", "vectors", "retrieval", "agents", "chatbot", "computing", "library",
    "framework", "tensor", "tensors", "github", "7b", "8b", "13b", "70b", "corpus", "transformer",
    "transformers",
})
# beside these, a term means something else: NLP coaching, AGI = adjusted gross income, LLM = Master of Laws
_NLP_COACHING = frozenset({
    "coach", "coaching", "coaches", "life coach", "practitioner", "practitioners", "hypnosis", "hypnotherapy",
    "neuro linguistic", "mindset", "therapist", "therapy", "manifest", "manifesting", "self help",
    "motivation", "motivational",
})
_TAX = frozenset({"tax", "taxes", "irs", "deduction", "deductions", "income", "refund", "filing", "accountant",
                  "w2", "ira", "roth", "stimulus check", "cpa"})
_LAW_DEGREE = frozenset({"llb", "master of laws", "law school", "international law", "tax law", "commercial law",
                         "human rights law", "maritime law", "law degree", "law graduate", "faculty of law"})
_OTHER_MEANING = {"nlp": _NLP_COACHING, "agi": _TAX, "llm": _LAW_DEGREE, "llms": _LAW_DEGREE}

AI_DOMAINS = frozenset({
    "arxiv.org", "huggingface.co", "hf.co", "kaggle.com", "paperswithcode.com", "towardsdatascience.com",
    "openai.com", "chatgpt.com", "deepmind.com", "deepmind.google", "ai.google", "distill.pub",
    "machinelearningmastery.com", "analyticsvidhya.com", "kdnuggets.com", "ai.googleblog.com",
    "ai.facebook.com", "ai.meta.com", "research.google", "bair.berkeley.edu", "pytorch.org", "tensorflow.org",
    "keras.io", "fast.ai", "deeplearning.ai", "datasciencecentral.com", "thegradient.pub",
    "lilianweng.github.io", "colab.research.google.com", "anthropic.com", "claude.ai", "mistral.ai", "x.ai",
    "mlflow.org", "wandb.ai", "openreview.net", "aclanthology.org", "jmlr.org", "proceedings.mlr.press",
    "neurips.cc", "icml.cc", "iclr.cc", "marktechpost.com", "syncedreview.com", "scikit-learn.org",
    "semanticscholar.org", "ollama.com", "langchain.com", "stability.ai",
})
# code hosts: an AI link only when the tweet or the link's path speaks of models, data or AI
_CODE_HOSTS = frozenset({"github.com", "gitlab.com", "github.io"})
_URL_PATH_WORDS = re.compile(r"[a-z0-9]+")

# "AI" as an acronym in running text: upper-case, or "A.I."; not "Ai" (a name) or "ai" (other languages).
# Boundaries are ASCII/Latin letters only, so "生成AIの" (Japanese) counts.
_LATIN = "A-Za-z0-9_À-ɏ"
_AI_ACRONYM = re.compile(rf"(?<![{_LATIN}#@.\-])(?:AIs?|[Aa]\.[Ii]\.?)(?![{_LATIN}\-]*\d)(?![{_LATIN}])")
# casual lower-case "ai" in English: "using ai", "ai will", "the ai"
_AI_LOWER = re.compile(
    r"\b(?i:using|use|uses|used|with|by|about|the|of|generative|open|my|your|an|this|that|our|their)\s+ai\b"
    r"(?!['’-])"
    r"|(?<![\w#@'’-])ai\s+(?:is|isn't|will|won't|can|can't|could|would|should|has|just|models?|tools?|art"
    r"|generated|powered|chatbots?|agents?|startups?|companies|research|safety|ethics)\b"
)
_ML_ACRONYM = re.compile(r"(?<![\w#@])(?<!\d )ML(?!\w)(?!\s*[+-]\d)")
_DL_ACRONYM = re.compile(r"(?<![\w#@])DL(?!\w)")
_AIR_INDIA_FLIGHT = re.compile(r"(?<![\w#@])AI[ -]?\d{2,4}(?!\w)(?![.,]\d)")
_AI_FILE_FORMATS = re.compile(
    r"\bAI\s*[,/|&+]\s*(?:EPS|SVG|PSD|PDF|PNG|CDR|DXF)\b|\b(?:EPS|SVG|PSD|PDF|PNG|CDR|DXF)\s*[,/|&+]\s*AI\b",
    re.IGNORECASE,
)
# "Ai Weiwei", "Ai Hasegawa": Ai as a given name before a known or romanised (Japanese / Chinese) family name
_AI_NAMES = frozenset({
    "weiwei", "qing", "hasegawa", "shinozaki", "otsuka", "kago", "takahashi", "uehara", "fukuhara", "miyazato",
    "kayano", "yazawa", "mikami", "furihata", "haruna", "tominaga", "kato", "aoi",
})
_AI_PERSON = re.compile(r"\bAi\s+([A-Z][a-z]{2,})")
_ROMANISED = re.compile(r"(?:(?:sh|ch|ts|ky|gy|ny|hy|by|py|my|ry|[kgsztdnhbpmyrwfj])?[aiueo]|n(?![aiueoy]))+")
_NOT_NAMES = frozenset({
    "image", "images", "engine", "anime", "machine", "game", "games", "mode", "tone", "zone", "home", "one",
    "some", "name", "more", "sure", "done", "made", "make", "take", "time", "here", "where", "there", "nine",
    "mine", "fine", "nice", "native", "manga", "ninja", "tsunami", "karaoke", "emoji", "ramen", "sushi",
    "samurai", "bonsai", "kimono", "origami", "hire", "use", "guide", "genie", "noise", "voice", "hype",
    "meme", "memes", "note", "notes", "pin", "safe", "sumo", "tokyo", "kyoto", "osaka", "japan",
})
_AVIATION = frozenset({
    "flight", "flights", "airport", "airline", "airlines", "pilot", "pilots", "boarding", "delayed", "delay",
    "passengers", "passenger", "crew", "plane", "aircraft", "landed", "landing", "takeoff", "take off",
    "departure", "departed", "cancelled", "canceled", "diverted", "crash", "crashed", "terminal", "gate",
    "baggage", "luggage", "dreamliner", "boeing", "airbus", "dgca", "cabin", "runway", "flyers", "pnr",
})
_AI_OTHER_MEANING = frozenset({
    "iverson", "allen iverson", "sixers", "76ers",  # Allen Iverson
    "insemination", "semen", "heifer", "heifers", "estrus", "oestrus", "calving", "sires",  # insemination
})
_ENGLISH_FUNCTION_WORDS = frozenset({
    "the", "a", "an", "is", "are", "was", "will", "to", "of", "and", "in", "on", "for", "with", "it", "this",
    "that", "you", "we", "i", "my", "our", "can", "be", "not", "how", "what", "why", "about", "from", "by",
})

# other languages: phrases of space-separated scripts match as words; the rest as substrings
AI_MULTILINGUAL = frozenset({
    "inteligencia artificial", "inteligência artificial", "intelligence artificielle",
    "intelligenza artificiale", "künstliche intelligenz", "kunstmatige intelligentie", "sztuczna inteligencja",
    "yapay zeka", "kecerdasan buatan", "trí tuệ nhân tạo", "искусственный интеллект",
    "искусственного интеллекта", "машинное обучение", "нейросеть", "нейросети", "нейросетей",
    "aprendizaje automático", "aprendizado de máquina", "aprendizagem automática", "apprentissage automatique",
    "maschinelles lernen", "aprendizaje profundo", "apprentissage profond", "ciencia de datos",
    "ciência de dados", "science des données", "l ia", "la ia", "de la ia",
    "inteligenciaartificial", "inteligênciaartificial", "intelligenceartificielle", "künstlicheintelligenz",
})
_AI_SUBSTRINGS = (
    "人工知能", "人工智能", "인공지능", "機械学習", "机器学习", "機器學習", "深層学習", "深度学习", "深度學習",
    "ディープラーニング", "머신러닝", "딥러닝", "生成ai", "生成式ai", "大規模言語モデル", "大语言模型",
    "大型語言模型", "自然言語処理", "自然语言处理", "データサイエンス", "数据科学", "ニューラルネット", "神经网络",
    "画像認識", "计算机视觉", "ビッグデータ", "大数据", "빅데이터", "कृत्रिम बुद्धिमत्ता", "मशीन लर्निंग",
    "الذكاء الاصطناعي", "تعلم الآلة",
)

# fmt: on
_AI_SUBSTRING = re.compile("|".join(map(re.escape, _AI_SUBSTRINGS)))


# -- shared evidence ----------------------------------------------------------------------------
def _terms(f: TweetFeatures, family: frozenset[str]) -> set[str]:
    """The phrases of ``family`` in the tweet; ambiguous ones only beside AI or technical words (or written
    as the acronym: "GAN", "RAG", "BERT"), none beside words that give them another meaning."""
    found = set(f.grams & family)
    unsure = found & AMBIGUOUS
    if unsure:
        unsure -= _acronym_cased(f)
        if unsure and not _corroborated(f, unsure):
            found -= unsure
    for term in found & _OTHER_MEANING.keys():
        if f.has_any(_OTHER_MEANING[term]) or (term == "nlp" and any("coach" in t or "hypno" in t for t in f.hashtags)):
            found.discard(term)
    return found


@_per_tweet
def _acronym_cased(f: TweetFeatures) -> frozenset[str]:
    """Ambiguous terms written as the acronym ("GAN", not "Gan"), in a tweet that is not all capitals."""
    if _is_shouting(f):
        return frozenset()
    return frozenset(m.lower() for m in _ACRONYM_CASED.findall(f.text))


def _corroborated(f: TweetFeatures, unsure: set[str]) -> bool:
    sure = (f.grams & ALL_POSITIVE) - AMBIGUOUS - {p.replace(" ", "") for p in unsure}
    return bool(
        sure
        or f.has_any(_TECH_CONTEXT)
        or len(distinct_phrases(unsure)) >= 2
        or _ai_acronym(f)
        or _ai_hashtags(f)
        or _has_ai_domain(f)
    )


def _is_shouting(f: TweetFeatures) -> bool:
    letters = [c for c in f.text if c.isascii() and c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


@_per_tweet
def _positive_terms(f: TweetFeatures) -> frozenset[str]:
    return frozenset(_terms(f, ALL_POSITIVE))


@_per_tweet
def _multilingual(f: TweetFeatures) -> bool:
    return f.has_any(AI_MULTILINGUAL) or bool(_AI_SUBSTRING.search(f.folded))


def _is_shouting_foreign(f: TweetFeatures) -> bool:
    """ALL-CAPS text that is not English ("AI MEU DEUS", "AI QUE SAUDADE"): its "AI" is an interjection."""
    return _is_shouting(f) and not f.has_any(_ENGLISH_FUNCTION_WORDS)


@_per_tweet
def _ai_acronym(f: TweetFeatures) -> bool:
    """The acronym AI / A.I. (or casual English "using ai"), not the ALL-CAPS Portuguese interjection."""
    if _AI_LOWER.search(f.text):
        return True
    return bool(_AI_ACRONYM.search(f.text)) and not _is_shouting_foreign(f)


@_per_tweet
def _ai_other_meaning(f: TweetFeatures) -> bool:
    """The AI here is Air India, a person called Ai, Allen Iverson, an Adobe Illustrator file or insemination."""
    return bool(
        f.has("air india")
        or f.has("airindia")
        or (_AIR_INDIA_FLIGHT.search(f.text) and (f.has_any(_AVIATION) or f.has("india")))
        or _ai_person(f)
        or _AI_FILE_FORMATS.search(f.text)
        or (_AI_ACRONYM.search(f.text) and f.has_any(_AI_OTHER_MEANING))
    )


def _ai_person(f: TweetFeatures) -> bool:
    for m in _AI_PERSON.finditer(f.text):
        name = m.group(1).lower()
        if name in _AI_NAMES:
            return True
        if name not in _NOT_NAMES and name not in ALL_POSITIVE and _ROMANISED.fullmatch(name):
            return True
    return False


@_per_tweet
def _has_ai_domain(f: TweetFeatures) -> bool:
    return any(_is_ai_domain(d) for d in f.domains)


def _is_ai_domain(d: str) -> bool:
    """An AI site or a subdomain of one (platform.openai.com), or any .ai site."""
    if d.endswith(".ai"):
        return True
    parts = d.split(".")
    return any(".".join(parts[i:]) in AI_DOMAINS for i in range(len(parts) - 1))


def _family_vote(f: TweetFeatures, family: frozenset[str]) -> int:
    """AI when a term of ``family`` occurs - unless it is only a hashtag in a hashtag-stuffed post."""
    found = _terms(f, family)
    if not found:
        return ABSTAIN
    if _is_hashtag_stuffed(f) and not (found & f.text_grams):
        return ABSTAIN
    return AI


# -- positive LFs: keyword families ---------------------------------------------------------------
@labeling_function(pre=[tweet_features])
def lf_ai_acronym(x) -> int:
    """The acronym AI (or A.I., #AI), "artificial intelligence" (in several languages) - not Air India,
    not a name, not one buzzword in a hashtag-stuffed or spam post."""
    f = _f(x)
    core = _terms(f, AI_CORE)
    stuffed = _is_hashtag_stuffed(f)
    if core and (not stuffed or core & f.text_grams):
        return AI
    if _multilingual(f):
        return AI
    if _ai_other_meaning(f):
        return ABSTAIN
    if _ai_acronym(f):
        return AI
    tags = _ai_hashtags(f)
    if tags and (not stuffed or not tags.isdisjoint(f.inline_hashtags)) and not _is_spam(f):
        return AI
    return ABSTAIN


@_per_tweet
def _ai_hashtags(f: TweetFeatures) -> frozenset[str]:
    """#AI, #ai and hashtags with AI as a camel-case part (#AIApril, #SparkAISummit, #AI_Strategy)."""
    return frozenset(t for t, parts in zip(f.hashtags, f.tag_parts, strict=False) if t == "ai" or "ai" in parts)


@labeling_function(pre=[tweet_features])
def lf_machine_learning(x) -> int:
    """Machine learning phrases, #MachineLearning, or "ML" the acronym outside gaming, betting or units."""
    f = _f(x)
    if _family_vote(f, ML) == AI:
        return AI
    if _ml_acronym(f) and (_ML_ACRONYM.search(f.text) or not _is_hashtag_stuffed(f)):
        return AI
    return ABSTAIN


@_per_tweet
def _ml_acronym(f: TweetFeatures) -> bool:
    """ML (or #ML) meaning machine learning: not Mobile Legends, a betting moneyline or millilitres."""
    return bool(_ML_ACRONYM.search(f.text) or "ml" in f.hashtags) and not (
        _is_gaming(f) or f.has_any(_ML_OTHER_MEANING)
    )


@labeling_function(pre=[tweet_features])
def lf_deep_learning(x) -> int:
    """Deep learning and neural-network vocabulary; "DL" only when it is not a download."""
    f = _f(x)
    if _family_vote(f, DL) == AI:
        return AI
    if (_DL_ACRONYM.search(f.text) or "dl" in f.hashtags) and not _is_download(f) and _positive_terms(f):
        return AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_nlp(x) -> int:
    """Natural language processing vocabulary (not "NLP" coaching)."""
    return _family_vote(_f(x), NLP)


@labeling_function(pre=[tweet_features])
def lf_computer_vision(x) -> int:
    """Computer vision vocabulary."""
    return _family_vote(_f(x), CV)


@labeling_function(pre=[tweet_features])
def lf_data_science(x) -> int:
    """Data science / analytics vocabulary."""
    return _family_vote(_f(x), DATA_SCIENCE)


@labeling_function(pre=[tweet_features])
def lf_big_data(x) -> int:
    """Big data vocabulary - unless it is one buzzword in a hashtag-stuffed post."""
    return _family_vote(_f(x), BIG_DATA)


@labeling_function(pre=[tweet_features])
def lf_robotics(x) -> int:
    """Robotics and autonomy vocabulary."""
    return _family_vote(_f(x), ROBOTICS)


@labeling_function(pre=[tweet_features])
def lf_llm(x) -> int:
    """Large language models, ChatGPT and friends, generative image models."""
    return _family_vote(_f(x), LLM)


@labeling_function(pre=[tweet_features])
def lf_ml_tools(x) -> int:
    """ML libraries and labs (TensorFlow, PyTorch, Hugging Face, DeepMind, ...)."""
    return _family_vote(_f(x), TOOLS)


@labeling_function(pre=[tweet_features])
def lf_ai_link_domain(x) -> int:
    """Links to AI / ML sites: arXiv, Hugging Face, Kaggle, Papers with Code, a .ai site, ...; GitHub when
    the tweet or the link is about models, data or AI."""
    return AI if _ai_link(_f(x)) else ABSTAIN


@_per_tweet
def _ai_link(f: TweetFeatures) -> bool:
    if _has_ai_domain(f):
        return True
    return any(d in _CODE_HOSTS or d.endswith(".github.io") for d in f.domains) and bool(
        _positive_terms(f) or _ai_acronym(f) or f.has_any(_TECH_CONTEXT - {"github"})
    )


# fmt: off
AI_HANDLES = frozenset({
    "tensorflow", "pytorch", "openai", "deepmind", "googleai", "googledeepmind", "metaai", "aiatmeta",
    "huggingface", "kaggle", "nvidiaai", "msftresearch", "ibmresearch", "ibmwatson", "aiethics", "anthropicai",
    "mistralai", "xai", "stanfordai", "stanfordhai", "berkeley_ai", "mit_csail", "tdatascience", "kdnuggets",
    "analyticsvidhya", "paperswithcode", "ylecun", "karpathy", "andrewyng", "goodfellow_ian", "jeffdean",
    "demishassabis", "fchollet", "geoffreyhinton", "drfeifei", "sama",
})
# fmt: on
_HANDLE_SUFFIXES = frozenset({"ai", "ml"})
_SURE_POSITIVE = ALL_POSITIVE - AMBIGUOUS


def _is_ai_handle(handle: str) -> bool:
    """@OpenAI, @karpathy, or a handle ending in AI / ML or an AI term (@GoogleAI, @sam_ml, @Akara_Robotics,
    @TDataScience); not @SAMURAI, @Dubai, @PrinceHTML or @kaggle_kid."""
    if handle.lower() in AI_HANDLES:
        return True
    parts = [p for piece in handle.split("_") if piece for p in split_hashtag(piece)]
    if not parts:
        return False
    return (
        (len(parts) > 1 and parts[-1] in _HANDLE_SUFFIXES)
        or parts[-1] in _SURE_POSITIVE
        or " ".join(parts[-2:]) in _SURE_POSITIVE
    )


@labeling_function(pre=[tweet_features])
def lf_ai_accounts(x) -> int:
    """Mentions AI labs, libraries or people (@OpenAI, @TensorFlow, @karpathy) or a handle ending in AI/ML."""
    f = _f(x)
    if _is_gaming(f):
        return ABSTAIN
    return AI if any(_is_ai_handle(m) for m in f.mentions) else ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_several_ai_terms(x) -> int:
    """Two or more distinct AI/DS terms: a strong sign, even in a hashtag-heavy post."""
    f = _f(x)
    return AI if _ai_term_count(f) >= 2 and not _is_spam(f) else ABSTAIN


@_per_tweet
def _ai_term_count(f: TweetFeatures) -> int:
    """Distinct AI/DS terms, the AI acronym or #AI counting as one more."""
    extra = 1 if (_ai_acronym(f) and not _ai_other_meaning(f)) or _ai_hashtags(f) else 0
    return len(distinct_phrases(_positive_terms(f))) + extra


# -- negative LFs: false friends, spam, other topics -----------------------------------------------
# fmt: off
_GAMING = frozenset({"mobile legends", "mobilelegends", "mlbb", "mobile legend", "rank", "ranked", "mythic",
                     "epic", "legend", "hero", "heroes", "skin", "skins", "diamonds", "push rank", "gameplay",
                     "squad", "gaming", "game", "games", "gamer"})
# ML as a sports-betting moneyline, Malayalam cinema, a unit
_ML_OTHER_MEANING = frozenset({"moneyline", "parlay", "parlays", "odds", "spread", "bet", "bets", "betting",
                               "units", "malayalam", "mollywood", "ounces", "oz", "bottle", "perfume"})
_DOWNLOAD = frozenset({"download", "downloads", "free dl", "dl link", "mp3", "album", "mixtape", "movie",
                       "torrent", "zip", "apk", "full movie", "stream", "leak", "leaked"})
_SPAM = frozenset({"crypto", "bitcoin", "btc", "forex", "nft", "nfts", "giveaway", "airdrop", "trading",
                   "win", "follow", "followback", "follow back", "retweet", "promo", "discount", "sale",
                   "casino", "betting", "earn money", "make money", "onlyfans", "dm for", "usdt", "binance"})
# fmt: on
_AI_TAGS = frozenset({"ai", "ml", "dl", "iot"})


@_per_tweet
def mentions_ai(f: TweetFeatures) -> bool:
    """Any AI / data-science term, the AI acronym, an #ai hashtag, an AI account or a link to an AI site."""
    return bool(
        _positive_terms(f)
        or _ai_hashtags(f)
        or any(_is_ai_handle(m) for m in f.mentions)
        or _ai_acronym(f)
        or _ml_acronym(f)
        or _multilingual(f)
        or _ai_link(f)
    )


@_per_tweet
def _is_gaming(f: TweetFeatures) -> bool:
    return f.has_any(_GAMING)


def _is_download(f: TweetFeatures) -> bool:
    return f.has_any(_DOWNLOAD)


@_per_tweet
def _is_spam(f: TweetFeatures) -> bool:
    return f.count_any(_SPAM) >= 2


def _ai_tag_count(f: TweetFeatures) -> int:
    return sum(
        1
        for t, parts in zip(f.hashtags, f.tag_parts, strict=False)
        if t in _AI_TAGS or t in ALL_POSITIVE or " ".join(parts) in ALL_POSITIVE or "ai" in parts
    )


@_per_tweet
def _is_hashtag_stuffed(f: TweetFeatures) -> bool:
    """Many hashtags (6+) of which at most a third are AI/DS topics."""
    return f.n_hashtags >= 6 and _ai_tag_count(f) <= f.n_hashtags / 3


@labeling_function(pre=[tweet_features])
def lf_ml_mobile_legends(x) -> int:
    """ML meaning Mobile Legends (a game): not AI."""
    f = _f(x)
    if (_ML_ACRONYM.search(f.text) or "ml" in f.hashtags or f.has("mlbb") or f.has("mobile legends")) and _is_gaming(f):
        return NOT_AI if not _terms(f, ML) else ABSTAIN
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_ai_air_india_or_name(x) -> int:
    """AI meaning Air India (flights) or a person (Ai Weiwei, Allen Iverson), or an Adobe Illustrator file,
    artificial insemination: not AI."""
    f = _f(x)
    if _positive_terms(f) or _multilingual(f):
        return ABSTAIN
    if _ai_other_meaning(f):
        return NOT_AI
    if _AI_ACRONYM.search(f.text) and f.has_any(_AVIATION):
        return NOT_AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_dl_download(x) -> int:
    """DL meaning download: not AI."""
    f = _f(x)
    if (_DL_ACRONYM.search(f.text) or "dl" in f.hashtags) and _is_download(f) and not _terms(f, DL | ML):
        return NOT_AI
    return ABSTAIN


@labeling_function(pre=[tweet_features])
def lf_hashtag_stuffed_spam(x) -> int:
    """Hashtag-stuffed or spam promotion where AI is one buzzword among crypto, giveaways, ...: not AI."""
    f = _f(x)
    ai_terms = _ai_term_count(f)
    spam = f.count_any(_SPAM)
    if _is_hashtag_stuffed(f) and (spam >= 2 or (ai_terms <= 1 and not _ai_in_prose(f))):
        return NOT_AI
    if (spam >= 3 and ai_terms <= 1) or (spam >= 2 and ai_terms == 0):
        return NOT_AI
    return ABSTAIN


@_per_tweet
def _ai_in_prose(f: TweetFeatures) -> bool:
    """An AI term in the sentences themselves, not only in the hashtags."""
    return bool(
        _positive_terms(f) & f.text_grams or _ai_acronym(f) or not _ai_hashtags(f).isdisjoint(f.inline_hashtags)
    )


# fmt: off
_OTHER_TOPICS = frozenset({
    # sport
    "match", "goal", "goals", "football", "soccer", "nba", "nfl", "cricket", "league", "playoffs", "coach",
    "team", "season", "fans", "stadium", "championship", "referee",
    # entertainment
    "album", "song", "songs", "concert", "movie", "movies", "episode", "netflix", "music", "singer", "tour",
    "kpop", "bts", "fandom", "actor", "actress",
    # food & life
    "dinner", "lunch", "breakfast", "recipe", "pizza", "coffee", "birthday", "wedding", "baby", "mom", "dad",
    "weekend", "sleep", "tired", "lol", "lmao", "omg", "haha", "love you", "miss you",
    # politics & news
    "election", "president", "senate", "congress", "vote", "voters", "trump", "biden", "minister",
    "parliament", "governor", "police",
    # weather, travel, shopping
    "weather", "rain", "sunny", "vacation", "beach", "flight", "sale", "discount", "fashion", "outfit",
})
# fmt: on


@labeling_function(pre=[tweet_features])
def lf_other_topic(x) -> int:
    """Sport, entertainment, food, politics, everyday life, with no AI/DS term: not AI."""
    f = _f(x)
    if f.count_any(_OTHER_TOPICS) >= 1 and not mentions_ai(f):
        return NOT_AI
    return ABSTAIN


# fmt: off
_TECH_HINTS = frozenset({
    "data", "model", "models", "algorithm", "algorithms", "research", "paper", "dataset", "datasets", "tech",
    "technology", "automation", "automated", "analytics", "digital", "software", "python", "code", "coding",
    "developer", "developers", "cloud", "iot", "computing", "compute", "gpu", "gpus", "startup", "startups",
    "innovation", "intelligent", "smart", "predict", "prediction", "predictions", "training", "trained",
    "learning", "robot", "robots", "neural", "vision", "language", "science", "scientist", "scientists",
    "engineer", "engineering", "statistics", "math", "bot", "bots", "programming", "api", "app", "apps",
})
# fmt: on


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
    """Short replies and chatter (under 8 words, emoji only) without AI terms: not AI. A blank text gets no
    vote (there is nothing to judge)."""
    f = _f(x)
    if f.n_words < 8 and f.text.strip() and not mentions_ai(f) and not f.domains:
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

__all__ = ["ABSTAIN", "AI", "BUILTIN_LFS", "NOT_AI", "mentions_ai", "tweet_features"]
