"""Runtimes that classify through ``streamsift serve`` over HTTP (``classify --mode remote|per-row``).

They have the model runtime's shape (``predict(texts)`` → probabilities), so the live path
scores through the same :func:`~streamsift.serving.runtime.classify_batch` whichever runtime it
holds. ``RemoteRuntime`` sends ``batch`` texts per request to a pinned version
(``/v1/models/<name>/versions/<v>:predict``: one micro-batch, one version), with a timeout,
retries with exponential backoff (tenacity) and a circuit breaker: after ``failures``
consecutive failed calls it stops calling for ``reset_s`` (callers wait, they do not hammer a
server that is down), then lets one call through to test it. ``PerRowRuntime`` is the original
design's one request per tweet on a fresh connection, kept as the measured baseline.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from streamsift.errors import StreamsiftError

log = logging.getLogger(__name__)


class RemoteError(StreamsiftError):
    """The model server did not answer usefully within the retry window."""


class CircuitBreaker:
    """closed → (``failures`` in a row) → open for ``reset_s`` → half-open (one trial call) → closed/open."""

    def __init__(self, failures: int, reset_s: float) -> None:
        self.failures = failures
        self.reset_s = reset_s
        self._count = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()
        self.opened = 0  # times the circuit opened

    def wait_until_closed(self) -> None:
        """Block while the circuit is open (no calls reach the server meanwhile)."""
        while True:
            with self._lock:
                if self._opened_at is None:
                    return
                left = self._opened_at + self.reset_s - time.monotonic()
                if left <= 0:
                    self._opened_at = None  # half-open: the next call is the trial
                    self._count = self.failures - 1
                    return
            time.sleep(min(left, 1.0))

    def success(self) -> None:
        with self._lock:
            self._count = 0

    def failure(self) -> None:
        with self._lock:
            self._count += 1
            if self._count >= self.failures and self._opened_at is None:
                self._opened_at = time.monotonic()
                self.opened += 1
                log.warning("model server failing: circuit open, no calls for %.0f s", self.reset_s)


def _retryable(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in (429, 500, 502, 503, 504)
    return False


class RemoteRuntime:
    """``streamsift serve`` as a model runtime: batched, retried, behind a circuit breaker."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        version: int,
        classes: list[str],
        batch: int = 256,
        timeout_s: float = 10.0,
        retry_window_s: float = 60.0,
        breaker: CircuitBreaker | None = None,
        token: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.version = version
        self.classes = classes
        self.batch = batch
        self.timeout_s = timeout_s
        self.retry_window_s = retry_window_s
        self.breaker = breaker or CircuitBreaker(5, 10.0)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = None
        self.calls = 0

    def load(self) -> None:
        import httpx

        self._client = httpx.Client(timeout=self.timeout_s, headers=self.headers)

    def _call(self, texts: list[str]) -> np.ndarray:
        assert self._client is not None
        self.breaker.wait_until_closed()
        self.calls += 1
        try:
            r = self._client.post(
                f"{self.url}/v1/models/{self.name}/versions/{self.version}:predict", json={"instances": texts}
            )
            r.raise_for_status()
        except Exception:
            self.breaker.failure()
            raise
        self.breaker.success()
        return np.array([p["probabilities"] for p in r.json()["predictions"]], dtype=np.float32)

    def predict(self, texts: list[str]) -> np.ndarray:
        if self._client is None:
            self.load()
        out = []
        for start in range(0, len(texts), self.batch):
            chunk = texts[start : start + self.batch]
            try:
                for attempt in Retrying(
                    retry=retry_if_exception(_retryable),
                    stop=stop_after_delay(self.retry_window_s),
                    wait=wait_exponential_jitter(initial=0.2, max=5.0),
                    reraise=True,
                ):
                    with attempt:
                        out.append(self._call(chunk))
            except Exception as exc:
                raise RemoteError(
                    f"model server {self.url} failed for {self.retry_window_s:.0f} s: {type(exc).__name__}: {exc}"
                ) from exc
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), dtype=np.float32)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class PerRowRuntime(RemoteRuntime):
    """The original design: one HTTP request per tweet, a new connection each (the baseline)."""

    def predict(self, texts: list[str]) -> np.ndarray:
        import httpx

        rows = []
        for t in texts:
            r = httpx.post(
                f"{self.url}/v1/models/{self.name}/versions/{self.version}:predict",
                json={"instances": [t]},
                timeout=self.timeout_s,
                headers=self.headers,
            )
            r.raise_for_status()
            rows.append(r.json()["predictions"][0]["probabilities"])
            self.calls += 1
        return np.array(rows, dtype=np.float32).reshape(len(texts), len(self.classes))


__all__ = ["CircuitBreaker", "PerRowRuntime", "RemoteError", "RemoteRuntime"]
