"""Micro-batching: concurrent requests share one ONNX Runtime call.

Requests queue their texts; one loop per model version takes texts from the head of the
queue until ``max_batch_size`` texts are gathered or ``max_wait_s`` has passed since the
oldest waiting request arrived (0: take what is there once the model is free), runs the
model once (in a worker thread, so the event loop keeps accepting requests) and hands every
request exactly its own rows, in order. A request larger than the cap is split across
batches and its rows are put back together; a batch never exceeds the cap. While a batch
runs, the next one gathers, so under load batches fill without waiting.

The queue is bounded in texts: past ``max_queue_texts`` a request is refused at once
(:class:`Overloaded`, answered 503 with ``Retry-After``) instead of waiting ever longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from streamsift.errors import StreamsiftError

log = logging.getLogger(__name__)


class Overloaded(StreamsiftError):
    """The batch queue is full: the caller should retry later."""


@dataclass(eq=False)
class _Job:
    texts: list[str]
    future: asyncio.Future
    arrived: float
    out: np.ndarray | None = None
    taken: int = 0  # texts already put in a batch
    done: int = 0  # rows already answered
    parts: list[tuple[int, int]] = field(default_factory=list)


class MicroBatcher:
    """Groups the texts of concurrent :meth:`submit` calls into batches for ``predict``."""

    def __init__(
        self,
        predict: Callable[[list[str]], np.ndarray],
        n_classes: int,
        *,
        executor: Executor | None,
        max_batch_size: int = 256,
        max_wait_s: float = 0.002,
        max_queue_texts: int = 16_384,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self.predict = predict
        self.n_classes = n_classes
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_queue_texts = max_queue_texts
        self.on_batch = on_batch
        self._queue: deque[_Job] = deque()
        self.queued_texts = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closed = False

    async def submit(self, texts: list[str]) -> np.ndarray:
        """Probabilities for ``texts``, in order (raises :class:`Overloaded` if the queue is full)."""
        if not texts:
            return np.zeros((0, self.n_classes), dtype=np.float32)
        if self._closed:
            raise RuntimeError("batcher closed")
        if self.queued_texts + len(texts) > self.max_queue_texts:
            raise Overloaded(f"{self.queued_texts} texts are waiting for the model (limit {self.max_queue_texts})")
        loop = asyncio.get_running_loop()
        job = _Job(list(texts), loop.create_future(), time.monotonic())
        self._queue.append(job)
        self.queued_texts += len(texts)
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run())
        self._wake.set()
        return await job.future

    def _take(self) -> tuple[list[str], list[tuple[_Job, int, int]]]:
        """Up to ``max_batch_size`` texts from the head of the queue, and whose rows they are."""
        texts: list[str] = []
        parts: list[tuple[_Job, int, int]] = []
        room = self.max_batch_size
        while self._queue and room:
            job = self._queue[0]
            if job.future.done():  # the caller went away: drop what it has not sent yet
                self._queue.popleft()
                self.queued_texts -= len(job.texts) - job.taken
                continue
            start = job.taken
            n = min(room, len(job.texts) - start)
            texts.extend(job.texts[start : start + n])
            parts.append((job, start, start + n))
            job.taken += n
            room -= n
            self.queued_texts -= n
            if job.taken == len(job.texts):
                self._queue.popleft()
        return texts, parts

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while not self._closed:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            # The model is idle here. Let the requests whose bytes have already arrived join (one turn
            # of the event loop), then wait for a fuller batch at most max_wait_s after the oldest
            # request arrived. Under load no waiting is needed: requests pile up while a batch runs.
            await asyncio.sleep(0)
            deadline = self._queue[0].arrived + self.max_wait_s if self._queue else 0.0
            while self.queued_texts < self.max_batch_size and (delay := deadline - time.monotonic()) > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    break
            texts, parts = self._take()
            if not texts:
                continue
            t0 = time.perf_counter()
            try:
                if self.executor is None:  # inline: no thread hand-off (and no GIL ping-pong) per batch
                    probs = self.predict(texts)
                else:
                    probs = await loop.run_in_executor(self.executor, self.predict, texts)
                if len(probs) != len(texts):
                    raise RuntimeError(f"the model returned {len(probs)} rows for {len(texts)} texts")
            except Exception as exc:  # every caller in the batch gets the error
                log.exception("a batch of %d texts failed", len(texts))
                for job, _s, _e in parts:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            if self.on_batch:
                self.on_batch(len(texts), time.perf_counter() - t0)
            row = 0
            for job, start, end in parts:
                n = end - start
                if not job.future.done():
                    if job.out is None:
                        if n == len(job.texts):  # the whole request in this batch: no copy
                            job.future.set_result(probs[row : row + n])
                            row += n
                            continue
                        job.out = np.empty((len(job.texts), probs.shape[1]), dtype=probs.dtype)
                    job.out[start:end] = probs[row : row + n]
                    job.done += n
                    if job.done == len(job.texts):
                        job.future.set_result(job.out)
                row += n

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        while self._queue:
            job = self._queue.popleft()
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))


__all__ = ["MicroBatcher", "Overloaded"]
