"""The model runtime seam and the one batch function every door classifies through.

A :class:`ModelRuntime` is what MLServer calls ``MLModel``: ``load()`` once, then
``predict(texts)`` → a ``(len(texts), n_classes)`` matrix of probabilities. The REST
routes (both protocols), the Kafka worker and the Spark job all call
:func:`classify_batch`, so a text gets the same answer whichever way it came in.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

#: Texts a freshly loaded model scores before it takes traffic (first-call allocations, caches).
WARMUP_TEXTS = ["warm up #ai https://example.com", "hello world", "machine learning " * 20]


class ModelRuntime(Protocol):
    name: str
    version: int
    classes: list[str]

    def load(self) -> None: ...

    def predict(self, texts: list[str]) -> np.ndarray: ...


class OnnxRuntime:
    """A registered model folder (``model.onnx`` + ``tokenizer.json`` + ``config.json``) in ONNX Runtime."""

    def __init__(self, path: Path, *, name: str, version: int, max_chars: int = 2000, threads: int = 1) -> None:
        self.path = Path(path)
        self.name = name
        self.version = version
        self.max_chars = max_chars
        self.threads = threads
        config = json.loads((self.path / "config.json").read_text())
        self.classes: list[str] = list(config["labeling_classes"])
        self._clf = None
        self.load_seconds: float | None = None

    def load(self) -> None:
        from streamsift.models.predict import OnnxClassifier

        t0 = time.perf_counter()
        self._clf = OnnxClassifier(self.path, self.classes, max_chars=self.max_chars, threads=self.threads)
        self._clf.predict_proba(WARMUP_TEXTS)
        self.load_seconds = time.perf_counter() - t0
        log.info("loaded %s version %d in %.2f s", self.name, self.version, self.load_seconds)

    @property
    def loaded(self) -> bool:
        return self._clf is not None

    def predict(self, texts: list[str]) -> np.ndarray:
        if self._clf is None:
            raise RuntimeError(f"{self.name} version {self.version} is not loaded")
        return self._clf.predict_proba(texts)


@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: list[float]


def classify_batch(runtime: ModelRuntime, texts: list[str]) -> np.ndarray:
    """Probabilities of every class for each text, in order: the one scoring path."""
    if not texts:
        return np.zeros((0, len(runtime.classes)), dtype=np.float32)
    return runtime.predict(texts)


def to_predictions(classes: list[str], probs: np.ndarray) -> list[Prediction]:
    rows = probs.tolist()
    return [Prediction(classes[int(np.argmax(r))], r) for r in rows]


__all__ = ["WARMUP_TEXTS", "ModelRuntime", "OnnxRuntime", "Prediction", "classify_batch", "to_predictions"]
