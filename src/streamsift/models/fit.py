"""The training loop of the network: class-balanced, step-based, selected on a smoothed dev score.

Written for data of any size, because a user's first dataset may hold 2,000 tweets and
their tenth 2 million:

- **class balance**: each example's loss is weighted by ``(n / (k · n_class))^balance``
  (``balance`` 1 = fully balanced, 0.5 = the square root, 0 = off), so a 10 % minority
  class cannot be ignored by a network that predicts the majority everywhere;
- **steps, not epochs**: at least ``min_steps`` optimiser steps however small the data
  (a few hundred rows are a handful of batches per epoch), at most ``epochs`` passes,
  with a linear warm-up and cosine decay of the learning rate over the planned steps;
- **selection on a smoothed score**: dev is scored every ``eval_every`` steps, the score
  is smoothed (exponential moving average) so one lucky evaluation does not stop training,
  the best raw checkpoint is kept, and patience is counted in steps.

Deterministic for a seed: one thread for the loop's ops, seeded permutations.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class FitConfig:
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    min_steps: int = 300
    eval_every: int = 50
    patience_steps: int = 600
    smoothing: float = 0.5
    balance: float = 0.5
    seed: int = 42


@dataclass
class FitResult:
    best_score: float
    best_step: int
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)


def class_weights(y: np.ndarray, n_classes: int, balance: float) -> np.ndarray:
    """Per-class loss weights ``(n / (k · n_c))^balance``, 1.0 for an absent class."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = np.ones(n_classes)
    present = counts > 0
    w[present] = (len(y) / (present.sum() * counts[present])) ** balance
    return w


def planned_steps(n_rows: int, cfg: FitConfig) -> int:
    """Optimiser steps for ``n_rows``: ``epochs`` passes, but never fewer than ``min_steps``."""
    per_epoch = max(1, math.ceil(n_rows / cfg.batch_size))
    return max(cfg.epochs * per_epoch, cfg.min_steps)


def fit_network(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    X_dev: np.ndarray,
    score_dev: Callable[[np.ndarray], float],
    cfg: FitConfig,
    *,
    advance: Callable[[int], None] | None = None,
) -> FitResult:
    """Train ``model`` in place (ending on its best dev checkpoint); ``score_dev(probs)`` scores dev.

    ``advance(1)`` is called after each step (see :func:`planned_steps` for the total).
    """
    import torch

    advance = advance or (lambda _n: None)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    n_classes = model.config["n_classes"]
    per_class = class_weights(y, n_classes, cfg.balance)
    weights = torch.from_numpy(w * per_class[y]).float()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    per_epoch = max(1, math.ceil(len(X) / cfg.batch_size))
    total = planned_steps(len(X), cfg)
    warmup = max(1, total // 20)
    sparse = [p for n, p in model.named_parameters() if n.startswith("embedding.")]
    dense = [p for n, p in model.named_parameters() if not n.startswith("embedding.")]
    opts = [
        torch.optim.SparseAdam(sparse, lr=cfg.learning_rate),
        torch.optim.AdamW(dense, lr=cfg.learning_rate, weight_decay=cfg.weight_decay),
    ]

    def lr_factor(s: int) -> float:  # linear warm-up, then cosine decay to 0 over the planned steps
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))

    scheds = [torch.optim.lr_scheduler.LambdaLR(o, lr_factor) for o in opts]
    log.info(
        "training: %d rows, %d steps planned (%d per epoch), class weights %s",
        len(X),
        total,
        per_epoch,
        np.round(per_class, 3).tolist(),
    )
    dev_ids = torch.from_numpy(X_dev)
    result = FitResult(best_score=-1.0, best_step=0, steps=0)
    best_state: dict[str, Any] | None = None
    smooth: float | None = None
    best_smooth, best_smooth_step = -1.0, 0
    step, order, pos, running = 0, rng.permutation(len(X)), 0, 0.0

    def evaluate() -> None:
        nonlocal smooth, best_state, best_smooth, best_smooth_step
        model.eval()
        with torch.no_grad():
            score = float(score_dev(model(dev_ids).numpy()))
        model.train()
        smooth = score if smooth is None else cfg.smoothing * smooth + (1 - cfg.smoothing) * score
        result.history.append(
            {
                "step": step,
                "epoch": round(step / per_epoch, 2),
                "train_loss": running,
                "dev": score,
                "dev_smoothed": smooth,
            }
        )
        if score > result.best_score + 1e-6:
            result.best_score, result.best_step = score, step
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if smooth > best_smooth + 1e-4:
            best_smooth, best_smooth_step = smooth, step

    model.train()
    while step < total:
        if pos >= len(order):
            order, pos = rng.permutation(len(X)), 0
        idx = torch.from_numpy(order[pos : pos + cfg.batch_size])
        pos += cfg.batch_size
        for o in opts:
            o.zero_grad()
        loss = torch.nn.functional.cross_entropy(model.logits(Xt[idx]), yt[idx], reduction="none")
        loss = (loss * weights[idx]).sum() / weights[idx].sum()
        loss.backward()
        for o, sch in zip(opts, scheds, strict=True):
            o.step()
            sch.step()
        step += 1
        running = float(loss.item()) if step == 1 else 0.9 * running + 0.1 * float(loss.item())
        advance(1)
        if step % cfg.eval_every == 0 or step == total:
            evaluate()
            if step - best_smooth_step >= cfg.patience_steps:
                log.info(
                    "early stop at step %d: the smoothed dev score has not improved for %d steps",
                    step,
                    cfg.patience_steps,
                )
                break
    result.steps = step
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    return result


__all__ = ["FitConfig", "FitResult", "class_weights", "fit_network", "planned_steps"]
