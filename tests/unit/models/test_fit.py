"""The training loop on tiny, hand-made data: no collapse to the majority class, deterministic, step-based."""

from __future__ import annotations

import numpy as np
import pytest

from streamsift.models.fit import FitConfig, class_weights, fit_network, planned_steps


def test_class_weights():
    y = np.array([0] * 90 + [1] * 10)
    assert class_weights(y, 2, 0.0).tolist() == [1.0, 1.0]
    full = class_weights(y, 2, 1.0)
    assert full[1] / full[0] == pytest.approx(9.0)
    assert class_weights(y, 2, 0.5)[1] / class_weights(y, 2, 0.5)[0] == pytest.approx(3.0)
    assert class_weights(np.array([0, 0]), 3, 1.0).tolist() == [1.0, 1.0, 1.0]


def test_small_data_gets_at_least_min_steps():
    cfg = FitConfig(epochs=8, batch_size=256, min_steps=300)
    assert planned_steps(2000, cfg) == 300  # 8 batches x 8 epochs = 64 would be too few
    assert planned_steps(100_000, cfg) == 8 * 391


def _data(n: int, seed: int):
    """A 10% minority class marked by token 5 in half its positions (the rest is noise)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(np.int64)
    X = rng.integers(6, 60, size=(n, 8)).astype(np.int64)
    X[np.flatnonzero(y == 1)[:, None], np.arange(0, 8, 2)] = 5
    return X, y


def _train(seed: int = 0):
    import torch

    from streamsift.models.network import TweetClassifier

    torch.set_num_threads(1)
    X, y = _data(600, 1)
    Xd, yd = _data(300, 2)
    torch.manual_seed(seed)
    model = TweetClassifier(64, 2, dim=8, hidden=8, bigram_buckets=256)

    def f1(p):
        pred = p.argmax(1)
        return float(((pred == 1) & (yd == 1)).sum() * 2 / max(1, (pred == 1).sum() + (yd == 1).sum()))

    cfg = FitConfig(
        epochs=2, batch_size=64, learning_rate=1e-2, min_steps=200, eval_every=20, patience_steps=200, seed=seed
    )
    steps = []
    result = fit_network(model, X, y, np.ones(len(y)), Xd, f1, cfg, advance=steps.append)
    return result, steps


def test_a_small_imbalanced_dataset_does_not_collapse_to_the_majority_class():
    result, steps = _train()
    assert len(steps) == result.steps >= 100  # many more than the 2 x 10 batches of two epochs
    assert result.best_score > 0.9  # the minority class is found (a collapsed model scores 0)
    assert [h["step"] for h in result.history][:2] == [20, 40]


def test_training_is_deterministic_for_a_seed():
    a, b = _train(seed=3), _train(seed=3)
    assert a[0].history == b[0].history
