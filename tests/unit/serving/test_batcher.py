"""The micro-batcher's bookkeeping: every caller gets its own rows, in order; batches respect the cap."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from streamsift.serving.batcher import MicroBatcher, Overloaded


def score(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in model: row i is (len, hash) of text i, so rows are recognisable."""
    return np.array([[len(t), hash(t) % 1000] for t in texts], dtype=np.float64)


def run(coro):
    return asyncio.run(coro)


def test_each_caller_gets_its_own_rows_and_batches_never_exceed_the_cap():
    sizes: list[int] = []

    async def main():
        b = MicroBatcher(
            score,
            2,
            executor=ThreadPoolExecutor(1),
            max_batch_size=16,
            max_wait_s=0.01,
            on_batch=lambda n, _s: sizes.append(n),
        )
        requests = [[f"r{i}-t{j}" for j in range(n)] for i, n in enumerate([1, 40, 3, 16, 17, 1, 100, 5] * 4)]
        results = await asyncio.gather(*(b.submit(r) for r in requests))
        await b.close()
        return requests, results

    requests, results = run(main())
    for texts, got in zip(requests, results, strict=True):
        assert np.array_equal(got, score(texts))
    assert max(sizes) <= 16 and sum(sizes) == sum(len(r) for r in requests)
    assert len(sizes) < len(requests) * 2  # requests were merged, not one call each


def test_a_failing_batch_fails_its_callers_and_the_next_batch_works():
    calls = []

    def flaky(texts):
        calls.append(len(texts))
        if len(calls) == 1:
            raise ValueError("model blew up")
        return score(texts)

    async def main():
        b = MicroBatcher(flaky, 2, executor=ThreadPoolExecutor(1), max_batch_size=8, max_wait_s=0.001)
        with pytest.raises(ValueError, match="blew up"):
            await b.submit(["a", "b"])
        ok = await b.submit(["c"])
        await b.close()
        return ok

    assert np.array_equal(run(main()), score(["c"]))


def test_a_full_queue_refuses_at_once():
    async def main():
        b = MicroBatcher(
            score, 2, executor=ThreadPoolExecutor(1), max_batch_size=100, max_wait_s=0.5, max_queue_texts=5
        )
        first = asyncio.ensure_future(b.submit(["a", "b", "c", "d"]))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded, match="limit 5"):
            await b.submit(["e", "f"])
        got = await first
        await b.close()
        return got

    assert np.array_equal(run(main()), score(["a", "b", "c", "d"]))


def test_a_caller_that_went_away_does_not_disturb_the_others():
    async def main():
        b = MicroBatcher(score, 2, executor=ThreadPoolExecutor(1), max_batch_size=4, max_wait_s=0.05)
        gone = asyncio.ensure_future(b.submit([f"x{i}" for i in range(10)]))
        stay = asyncio.ensure_future(b.submit(["y1", "y2"]))
        await asyncio.sleep(0)
        gone.cancel()
        got = await stay
        await b.close()
        return got

    assert np.array_equal(run(main()), score(["y1", "y2"]))
