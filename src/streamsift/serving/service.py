"""What both protocols call: validate texts, then cache → micro-batcher → model, then log.

:class:`InferenceService` owns the server's parts (model manager, cache, inference log,
metrics); :class:`ApiError` is every answer that is not a success, with its HTTP status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from streamsift.config import Settings
from streamsift.errors import StreamsiftError
from streamsift.serving.batcher import Overloaded
from streamsift.serving.cache import PredictionCache
from streamsift.serving.inference_log import InferenceLog
from streamsift.serving.manager import ModelManager, ModelNotFound, ModelNotReady
from streamsift.serving.metrics import ServerMetrics


class ApiError(StreamsiftError):
    """An error answer: ``status`` and a message saying what is wrong."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Classified:
    name: str
    version: int
    classes: list[str]
    probs: np.ndarray  # (n, k) float32

    @property
    def labels(self) -> list[str]:
        return [self.classes[i] for i in self.probs.argmax(axis=1).tolist()] if len(self.probs) else []


class InferenceService:
    def __init__(self, settings: Settings, manager: ModelManager, metrics: ServerMetrics) -> None:
        self.settings = settings
        sv = settings.serving
        self.manager = manager
        self.metrics = metrics
        self.cache = PredictionCache(sv.cache_size, settings.model.max_chars)
        self.log: InferenceLog | None = (
            InferenceLog(settings, max_rows=sv.log_buffer_rows, flush_s=sv.log_flush_ms / 1000)
            if sv.inference_log
            else None
        )

    def check_texts(self, texts: list, where: str) -> list[str]:
        """Reject what must never reach the model: no texts, too many, empty, not strings, too long."""
        sv, limit = self.settings.serving, self.settings.model.max_chars
        if not texts:
            raise ApiError(400, f"{where} is empty: send at least one text")
        if len(texts) > sv.max_instances:
            raise ApiError(400, f"{where} has {len(texts)} texts; at most {sv.max_instances} per request")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise ApiError(400, f"{where}[{i}] is {type(t).__name__ if t is not None else 'null'}, not a string")
            if not t.strip():
                raise ApiError(400, f"{where}[{i}] is an empty text")
            if len(t) > limit:
                raise ApiError(400, f"{where}[{i}] has {len(t)} characters; at most {limit}")
        return texts

    async def classify(
        self,
        texts: list[str],
        *,
        name: str,
        version: int | str | None = None,
        label: str | None = None,
        request_id: str,
        protocol: str,
        source: str = "rest",
    ) -> Classified:
        t0 = time.perf_counter()
        try:
            v = self.manager.resolve(name, version, label)
            servable = await self.manager.servable(v)
        except ModelNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except ModelNotReady as exc:
            raise ApiError(503, str(exc), {"Retry-After": "5"}) from None
        rt = servable.runtime
        keys, found = self.cache.lookup(v, texts)
        miss = [i for i, f in enumerate(found) if f is None]
        if not miss:
            probs = np.stack(found)
        else:
            assert servable.batcher is not None
            try:
                fresh = await servable.batcher.submit([texts[i] for i in miss] if len(miss) < len(texts) else texts)
            except Overloaded as exc:
                raise ApiError(503, f"overloaded: {exc}; retry shortly", {"Retry-After": "1"}) from None
            if len(miss) == len(texts):
                probs = fresh
                self.cache.store(keys, fresh)
            else:
                probs = np.empty((len(texts), fresh.shape[1]), dtype=fresh.dtype)
                for i, f in enumerate(found):
                    if f is not None:
                        probs[i] = f
                probs[miss] = fresh
                self.cache.store([keys[i] for i in miss], fresh)
        out = Classified(name, v, rt.classes, probs)
        self.metrics.texts.labels(protocol).inc(len(texts))
        if self.log is not None:
            missed = set(miss)
            self.log.add(
                request_id=request_id,
                texts=texts,
                labels=out.labels,
                probs=probs,
                cached=[i not in missed for i in range(len(texts))],
                model_name=name,
                model_version=v,
                latency_ms=(time.perf_counter() - t0) * 1000,
                source=source,
                protocol=protocol,
            )
        return out


__all__ = ["ApiError", "Classified", "InferenceService"]
