"""The neural text classifier: a fastText-style bag of unigram and bigram embeddings and a small head.

    ids (batch, L) ─► bigram ids, hashed from neighbouring ids inside the graph
                   ─► embeddings of unigrams + bigrams (padding embeds to zero) ─► mean
                   ─► Linear ─► ReLU ─► Linear ─► softmax

Small and shallow on purpose: scoring must keep up with a stream on two CPU cores (the
whole path, tokenizer included, runs at tens of thousands of texts per second), it trains
on 100,000 tweets in seconds, and it exports to ONNX with one int64 input ``ids`` and one
float output ``probs``, so Spark executors and the model server run it with ONNX Runtime
alone. Bigrams are hashed in the graph, so the tokenizer stays a plain id lookup and the
ONNX file alone defines what the model sees.
"""

from __future__ import annotations

import torch
from torch import nn

ONNX_OPSET = 17
ARCH = "bag-of-ngrams-v2"
_BIGRAM_MULT = 1_000_003


class TweetClassifier(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        n_classes: int,
        *,
        dim: int = 32,
        hidden: int = 32,
        bigram_buckets: int = 1 << 18,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.vocab_size, self.bigram_buckets = vocab_size, bigram_buckets
        # sparse gradients: a step updates only the rows of the ids in its batch (fit.py uses SparseAdam)
        self.embedding = nn.Embedding(vocab_size + bigram_buckets, dim, padding_idx=0, sparse=True)
        nn.init.normal_(self.embedding.weight, std=0.05)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
        self.config = {
            "arch": ARCH,
            "vocab_size": vocab_size,
            "n_classes": n_classes,
            "dim": dim,
            "hidden": hidden,
            "bigram_buckets": bigram_buckets,
            "dropout": dropout,
        }

    @classmethod
    def from_config(cls, config: dict) -> TweetClassifier:
        """The network described by a saved ``config`` (``model.pt``'s), with fresh weights."""
        if config.get("arch") != ARCH:
            raise ValueError(f"a {config.get('arch', 'older')!r} network, not {ARCH!r}: train a new version")
        kw = {k: v for k, v in config.items() if k not in ("arch", "vocab_size", "n_classes")}
        return cls(config["vocab_size"], config["n_classes"], **kw)

    def with_bigrams(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids`` followed by the hashed ids of each pair of neighbouring tokens (0 where either is padding)."""
        a, b = ids[:, :-1], ids[:, 1:]
        pair = self.vocab_size + (a * _BIGRAM_MULT + b) % self.bigram_buckets
        return torch.cat([ids, torch.where((a > 0) & (b > 0), pair, torch.zeros_like(pair))], dim=1)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        grams = self.with_bigrams(ids)
        count = (grams != 0).sum(dim=1, keepdim=True).clamp(min=1).to(torch.float32)
        pooled = self.embedding(grams).sum(dim=1) / count  # the padding row is zero
        return self.head(pooled)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Class probabilities (what ONNX exports)."""
        return torch.softmax(self.logits(ids), dim=-1)


def export_onnx(model: TweetClassifier, path: str, max_len: int) -> None:
    """Write ``model`` as ONNX (opset :data:`ONNX_OPSET`) with a dynamic batch size."""
    import warnings

    model.eval()
    example = torch.ones((2, max_len), dtype=torch.int64)
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export, which needs `onnxscript`;
        # this small graph exports exactly with the former (a test checks parity within 1e-5).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            model,
            (example,),
            path,
            input_names=["ids"],
            output_names=["probs"],
            dynamic_axes={"ids": {0: "batch"}, "probs": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


__all__ = ["ARCH", "ONNX_OPSET", "TweetClassifier", "export_onnx"]
