import zlib

import numpy as np
import pytest

from streamsift.models.tokenizer import PAD, UNK, Tokenizer, tokens


def test_tokens_words_hashtags_domains_mentions():
    t = tokens("New #DeepLearning paper by @karpathy https://www.ArXiv.org/abs/1?x=2 wow, it's http://x.co/a")
    assert t[:6] == ["new", "#deeplearning", "paper", "by", "@karpathy", "https://arxiv.org"]
    assert t[6:] == ["abs", "1", "x", "2", "wow", "it", "s", "https://x.co", "a"]  # words of a link's path count


def test_fit_encode_pad_and_unknown_words_hash():
    tok = Tokenizer.fit(["machine learning rocks", "machine learning is fun", "fun fun"], min_count=2, max_len=8)
    ids, cut = tok.encode(["machine learning", "zebra", "", "!!!"])
    assert ids.shape == (4, 8) and ids.dtype == np.int64 and cut == 0
    assert list(ids[0][:2]) == [tok.vocab["machine"], tok.vocab["learning"]] and (ids[0][2:] == PAD).all()
    base = 2 + len(tok.vocab)
    assert ids[1][0] == base + zlib.crc32(b"zebra") % tok.n_hash  # stable across processes (not hash())
    for row in (ids[2], ids[3]):  # no token: one UNK, never an all-padding row
        assert list(row[:1]) == [UNK] and (row[1:] == PAD).all()
    assert ids.max() < tok.size


def test_encode_matches_ids_row_by_row():
    tok = Tokenizer.fit(["a b c d", "b c d e", "x y"], min_count=1, max_len=3)
    texts = ["a b c d e f", "b", "zz top", ""]
    ids, cut = tok.encode(texts)
    assert cut == 1
    for row, text in zip(ids, texts, strict=True):
        one, _ = tok.ids(text)
        assert list(row[: len(one)]) == one and (row[len(one) :] == PAD).all()


def test_truncation_is_reported():
    tok = Tokenizer.fit(["a b c"], min_count=1, max_len=4)
    ids, cut = tok.encode(["a b c a b c a b c"])
    assert cut == 1 and (ids[0] != PAD).all()


def test_save_load_roundtrip_and_old_files_are_refused(tmp_path):
    tok = Tokenizer.fit(["hello world", "hello there", "world peace"], min_count=1, max_len=10)
    tok.save(tmp_path / "t.json")
    again = Tokenizer.load(tmp_path / "t.json")
    texts = ["hello world peace", "unseen words here"]
    assert (tok.encode(texts)[0] == again.encode(texts)[0]).all()
    (tmp_path / "old.json").write_text('{"kind": "streamsift-hashing-vocab-v1", "vocab": {}}')
    with pytest.raises(ValueError, match="train a new version"):
        Tokenizer.load(tmp_path / "old.json")


def test_deterministic_across_instances_and_ties_broken_alphabetically():
    texts = ["#AI is eating the world", "deep learning on arxiv https://arxiv.org/abs/1"]
    a, b = Tokenizer.fit(texts * 2), Tokenizer.fit(list(reversed(texts)) * 2)
    assert a.vocab == b.vocab and (a.encode(texts)[0] == b.encode(texts)[0]).all()
