import numpy as np

from streamsift.models.tokenizer import PAD, UNK, Tokenizer, raw_features


def test_features_words_bigrams_hashtags_domains_mentions():
    f = raw_features("New #DeepLearning paper by @karpathy https://www.arxiv.org/abs/1 wow")
    assert "#deeplearning" in f and "deeplearning" in f and "dom:arxiv.org" in f
    assert "<user>" in f and "<url>" in f and "new" in f and "by <user>" in f
    assert "@karpathy" not in " ".join(f)


def test_fit_encode_pad_and_unknown_words_hash():
    tok = Tokenizer.fit(["machine learning rocks", "machine learning is fun", "fun fun"], min_count=2, max_len=8)
    ids, cut = tok.encode(["machine learning", "zebra", ""])
    assert ids.shape == (3, 8) and ids.dtype == np.int64 and cut == 0
    assert set(ids[0][ids[0] != PAD]) <= set(tok.vocab.values())  # all known
    hashed = ids[1][ids[1] != PAD]
    assert len(hashed) > 0 and all(h >= 2 + len(tok.vocab) for h in hashed)  # char trigrams of an unknown word
    assert list(ids[2][:1]) == [UNK] and (ids[2][1:] == PAD).all()  # empty text: one UNK, never all padding
    assert ids.max() < tok.size


def test_truncation_is_reported():
    tok = Tokenizer.fit(["a b c"], min_count=1, max_len=4)
    ids, cut = tok.encode(["a b c a b c a b c"])
    assert cut == 1 and (ids[0] != PAD).all()


def test_save_load_roundtrip(tmp_path):
    tok = Tokenizer.fit(["hello world", "hello there", "world peace"], min_count=1, max_len=10)
    tok.save(tmp_path / "t.json")
    again = Tokenizer.load(tmp_path / "t.json")
    texts = ["hello world peace", "unseen words here"]
    assert (tok.encode(texts)[0] == again.encode(texts)[0]).all()


def test_deterministic_across_instances():
    texts = ["#AI is eating the world", "deep learning on arxiv https://arxiv.org/abs/1"]
    a, b = Tokenizer.fit(texts * 2), Tokenizer.fit(texts * 2)
    assert a.vocab == b.vocab and (a.encode(texts)[0] == b.encode(texts)[0]).all()
