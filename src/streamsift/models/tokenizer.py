"""A fast, dependency-free tokenizer shared by training (PyTorch) and serving (ONNX Runtime).

Features of a tweet: lower-case words, word bigrams, hashtags (``#ai``) and their words,
link domains (``dom:arxiv.org``), mentions as one token; known features map to vocabulary
ids, unknown words fall back to hashed character trigrams (so new words still say something).
Output: int64 ids, padded to ``max_len`` with 0; texts longer than ``max_len`` features are cut.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

PAD, UNK = 0, 1
_TOKEN = re.compile(r"https?://(?:www\.)?([^/\s?#]+)\S*|#(\w+)|@\w+|\w+", re.UNICODE)


def raw_features(text: str) -> list[str]:
    """The feature strings of one text, before vocabulary lookup."""
    out: list[str] = []
    words: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        domain, tag = m.group(1), m.group(2)
        if domain is not None:
            out.append(f"dom:{domain}")
            words.append("<url>")
        elif tag is not None:
            out.append(f"#{tag}")
            words.append(tag)
        elif m.group(0).startswith("@"):
            words.append("<user>")
        else:
            words.append(m.group(0))
    out.extend(words)
    out.extend(f"{a} {b}" for a, b in pairwise(words))
    return out


@dataclass
class Tokenizer:
    """Vocabulary + hashing fallback. Build with :meth:`fit`, save with :meth:`save`."""

    vocab: dict[str, int] = field(default_factory=dict)
    n_hash: int = 1 << 14
    max_len: int = 96

    @property
    def size(self) -> int:
        """Number of embedding rows needed (pad, unk, vocabulary, hash buckets)."""
        return 2 + len(self.vocab) + self.n_hash

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        *,
        max_vocab: int = 50_000,
        min_count: int = 2,
        max_len: int = 96,
        n_hash: int = 1 << 14,
    ) -> Tokenizer:
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(set(raw_features(t if isinstance(t, str) else "")))
        common = [f for f, c in counts.most_common(max_vocab) if c >= min_count]
        return cls({f: i + 2 for i, f in enumerate(common)}, n_hash=n_hash, max_len=max_len)

    def _hash(self, word: str) -> list[int]:
        base = 2 + len(self.vocab)
        w = f"<{word}>"
        return [base + zlib.crc32(w[i : i + 3].encode()) % self.n_hash for i in range(max(1, len(w) - 2))]

    def ids(self, text: str) -> tuple[list[int], bool]:
        """Token ids of one text (unpadded, cut to ``max_len``) and whether it was cut."""
        vocab = self.vocab
        out: list[int] = []
        for f in raw_features(text):
            i = vocab.get(f)
            if i is not None:
                out.append(i)
            elif " " not in f and not f.startswith(("dom:", "#")):
                out.extend(self._hash(f))
        cut = len(out) > self.max_len
        return (out[: self.max_len] or [UNK]), cut

    def encode(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """A ``(len(texts), max_len)`` int64 matrix (0 = padding) and how many texts were cut."""
        batch = np.zeros((len(texts), self.max_len), dtype=np.int64)
        cut = 0
        for r, t in enumerate(texts):
            ids, was_cut = self.ids(t)
            cut += was_cut
            batch[r, : len(ids)] = ids
        return batch, cut

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "kind": "streamsift-hashing-vocab-v1",
                    "n_hash": self.n_hash,
                    "max_len": self.max_len,
                    "vocab": self.vocab,
                },
                ensure_ascii=False,
            )
        )

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        data = json.loads(path.read_text())
        if data.get("kind") != "streamsift-hashing-vocab-v1":
            raise ValueError(f"{path} is not a streamsift tokenizer")
        return cls(data["vocab"], n_hash=data["n_hash"], max_len=data["max_len"])
