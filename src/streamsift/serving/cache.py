"""A bounded LRU cache of predictions keyed by (model version, normalised text).

Retweets and repeated texts are common in a stream; a hit skips the model. The key is what
the tokenizer sees — the text cut to ``max_chars``, lower-cased, whitespace collapsed — so two
texts share an entry only when they must get the same answer.
"""

from __future__ import annotations

import threading

import numpy as np
from cachetools import LRUCache


def normalise(text: str, max_chars: int) -> str:
    return " ".join(text[:max_chars].lower().split())


class PredictionCache:
    """Thread-safe; ``size`` 0 turns it off (every lookup misses, nothing is stored)."""

    def __init__(self, size: int, max_chars: int) -> None:
        self.size = size
        self.max_chars = max_chars
        self._lru: LRUCache = LRUCache(maxsize=max(size, 1))
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._lru) if self.size else 0

    def lookup(self, version: int, texts: list[str]) -> tuple[list[tuple], list[np.ndarray | None]]:
        """The keys of ``texts`` and, per text, the cached probabilities or ``None``."""
        keys = [(version, normalise(t, self.max_chars)) for t in texts]
        if not self.size:
            self.misses += len(texts)
            return keys, [None] * len(texts)
        with self._lock:
            get = self._lru.get
            found = [get(k) for k in keys]
        hits = sum(f is not None for f in found)
        self.hits += hits
        self.misses += len(texts) - hits
        return keys, found

    def store(self, keys: list[tuple], probs: np.ndarray) -> None:
        if not self.size:
            return
        with self._lock:
            for k, p in zip(keys, probs, strict=True):
                self._lru[k] = p


__all__ = ["PredictionCache", "normalise"]
