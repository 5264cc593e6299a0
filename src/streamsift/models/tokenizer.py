"""The tokenizer shared by training (PyTorch) and serving (ONNX Runtime): text → int64 ids, fast.

A text becomes tokens with one compiled regex over the lower-cased text — link domains
(``https://arxiv.org``), hashtags (``#ai``), mentions (``@karpathy``) and words — and each
token becomes an id: its vocabulary id if training saw it often enough, else one of
``n_hash`` buckets chosen by its CRC-32 (stable across processes and machines), so a
word never seen in training still says something. Word bigrams are not made here: the
network builds them from neighbouring ids inside its ONNX graph (:mod:`.network`).

Speed is the point: scoring must keep up with a stream. The work per text is one
``re.findall`` and a dictionary lookup per token (all in C), and the padded matrix is
filled with one vectorised numpy assignment; ``bench/train_predict.py`` measures it.

Output: ``(n, max_len)`` int64, 0 = padding; texts with more tokens are cut.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PAD, UNK = 0, 1
KIND = "streamsift-regex-vocab-v2"
_TOKEN = re.compile(r"https://[^/\s?#]+|#\w+|@\w+|\w+")


def _prepare(text: str) -> str:
    return text.lower().replace("http://", "https://").replace("://www.", "://")


def tokens(text: str) -> list[str]:
    """The tokens of one text, before the id lookup."""
    return _TOKEN.findall(_prepare(text))


@dataclass
class Tokenizer:
    """Vocabulary + hashed buckets for the rest. Build with :meth:`fit`, save with :meth:`save`."""

    vocab: dict[str, int] = field(default_factory=dict)
    n_hash: int = 1 << 16
    max_len: int = 64

    @property
    def size(self) -> int:
        """Number of ids the network must embed (pad, unk, vocabulary, hash buckets)."""
        return 2 + len(self.vocab) + self.n_hash

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        *,
        max_vocab: int = 50_000,
        min_count: int = 2,
        max_len: int = 64,
        n_hash: int = 1 << 16,
    ) -> Tokenizer:
        """Keep the ``max_vocab`` tokens found in at least ``min_count`` texts (ties: alphabetical)."""
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(set(tokens(t if isinstance(t, str) else "")))
        common = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls({w: i + 2 for i, w in enumerate(common[:max_vocab])}, n_hash=n_hash, max_len=max_len)

    def ids(self, text: str) -> tuple[list[int], bool]:
        """Token ids of one text (unpadded, cut to ``max_len``) and whether it was cut."""
        get, base, n_hash, crc = self.vocab.get, 2 + len(self.vocab), self.n_hash, zlib.crc32
        out = [get(w) or base + crc(w.encode()) % n_hash for w in tokens(text)]
        return (out[: self.max_len] or [UNK]), len(out) > self.max_len

    def encode(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """A ``(len(texts), max_len)`` int64 matrix (0 = padding) and how many texts were cut."""
        get, base, n_hash, crc, findall = self.vocab.get, 2 + len(self.vocab), self.n_hash, zlib.crc32, _TOKEN.findall
        n, width = len(texts), self.max_len
        rows = [[get(w) or base + crc(w.encode()) % n_hash for w in findall(_prepare(t))] for t in texts]
        full = np.fromiter(map(len, rows), dtype=np.int64, count=n)
        cut = int((full > width).sum())
        if cut:
            rows = [r[:width] for r in rows]
        lens = np.minimum(full, width)
        empty = lens == 0
        if empty.any():  # a text without tokens is one unknown token, never an all-padding row
            for i in np.flatnonzero(empty):
                rows[i] = [UNK]
            lens[empty] = 1
        flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(lens.sum()))
        batch = np.zeros((n, width), dtype=np.int64)
        batch[np.arange(width) < lens[:, None]] = flat
        return batch, cut

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {"kind": KIND, "n_hash": self.n_hash, "max_len": self.max_len, "vocab": self.vocab},
                ensure_ascii=False,
            )
        )

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        data = json.loads(path.read_text())
        if data.get("kind") != KIND:
            raise ValueError(
                f"{path} is a {data.get('kind', 'unknown')!r} tokenizer, not {KIND!r}: "
                "the model was trained by an older streamsift; train a new version"
            )
        return cls(data["vocab"], n_hash=data["n_hash"], max_len=data["max_len"])


__all__ = ["KIND", "PAD", "UNK", "Tokenizer", "tokens"]
