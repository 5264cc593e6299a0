from __future__ import annotations

import numpy as np

from streamsift.serving.cache import PredictionCache, normalise


def test_keys_are_what_the_tokenizer_sees():
    assert normalise("  Hello   #AI\n world ", 100) == "hello #ai world"
    assert normalise("abcdef", 3) == "abc"


def test_lru_hits_misses_and_versions():
    c = PredictionCache(2, 100)
    keys, found = c.lookup(1, ["a", "b"])
    assert found == [None, None] and c.misses == 2
    c.store(keys, np.array([[0.1, 0.9], [0.8, 0.2]]))
    _, found = c.lookup(1, ["A ", "b"])
    assert np.allclose(found[0], [0.1, 0.9]) and c.hits == 2
    _, found = c.lookup(2, ["a"])  # another model version: its own entries
    assert found == [None]
    k, _ = c.lookup(1, ["c"])
    c.store(k, np.array([[0.5, 0.5]]))
    assert len(c) == 2  # bounded: the least recently used entry went


def test_size_zero_turns_it_off():
    c = PredictionCache(0, 100)
    k, _ = c.lookup(1, ["a"])
    c.store(k, np.array([[0.1, 0.9]]))
    assert c.lookup(1, ["a"])[1] == [None] and len(c) == 0
