"""Turn a label matrix into weak labels: Snorkel's LabelModel, and majority vote beside it.

Rows where every LF abstained get no label (``None``) - never a guess from the prior.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from snorkel.labeling.model import LabelModel, MajorityLabelVoter

from streamsift.labeling.errors import LabelingError

log = logging.getLogger(__name__)

ABSTAIN = -1


@contextmanager
def _quiet():
    """Snorkel 0.10 calls scipy.sparse.diags in a way newer SciPy warns about; nothing for users to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"scipy\..*")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"snorkel\..*")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"snorkel\..*")
        yield


@dataclass
class WeakLabels:
    """Per-row weak label (-1 = none), the probability of that label, and all class probabilities."""

    labels: np.ndarray  # int, -1 where every LF abstained
    probs: np.ndarray  # (n, k)
    confidence: np.ndarray  # probs[label], nan where no label


def fit_label_model(L_train: np.ndarray, cardinality: int, *, epochs: int, lr: float, seed: int) -> LabelModel:
    """Fit Snorkel's LabelModel on the rows where at least one LF voted."""
    voted = (L_train != ABSTAIN).any(axis=1)
    if voted.sum() == 0:
        raise LabelingError("no labeling function voted on any training row: nothing to learn from")
    model = LabelModel(cardinality=cardinality, verbose=False)
    with _quiet():
        model.fit(L_train[voted], n_epochs=epochs, lr=lr, seed=seed, log_freq=max(epochs, 1), progress_bar=False)
    return model


def _finish(L: np.ndarray, probs: np.ndarray) -> WeakLabels:
    labels = probs.argmax(axis=1).astype(int)
    none = ~(L != ABSTAIN).any(axis=1)
    labels[none] = ABSTAIN
    conf = probs[np.arange(len(probs)), probs.argmax(axis=1)].astype(float)
    conf[none] = np.nan
    probs = probs.astype(float)
    probs[none] = np.nan
    return WeakLabels(labels, probs, conf)


def predict_label_model(model: LabelModel, L: np.ndarray) -> WeakLabels:
    if len(L) == 0:
        k = model.cardinality
        return WeakLabels(np.zeros(0, int), np.zeros((0, k)), np.zeros(0))
    with _quiet():
        probs = model.predict_proba(L)
    return _finish(L, _respect_unanimous(L, probs))


def _respect_unanimous(L: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Where every LF that voted chose the same class, that class wins.

    The LabelModel can learn an LF that rarely overlaps the others as worse than random
    and then *invert* its lone votes; a unanimous vote is the strongest evidence there
    is, so the model may sharpen or soften it but not overturn it.
    """
    lo, hi = np.nanmin(np.where(L >= 0, L, np.inf), axis=1), np.nanmax(np.where(L >= 0, L, -np.inf), axis=1)
    unanimous = (lo == hi) & np.isfinite(lo)
    chosen = probs.argmax(axis=1)
    flip = unanimous & (chosen != np.where(unanimous, lo, -1))
    if flip.any():
        log.info("the LabelModel overturned %d unanimous LF votes: keeping the votes", int(flip.sum()))
        probs = probs.copy()
        probs[flip] = 0.0
        probs[flip, lo[flip].astype(int)] = 1.0
    return probs


def inverted_lfs(model: LabelModel, names: list[str]) -> list[str]:
    """LFs the LabelModel learned as less accurate than chance (worth a look or removal)."""
    with _quiet():
        weights = np.asarray(model.get_weights())
    return [n for n, w in zip(names, weights, strict=False) if w < 0.5]


def predict_majority(L: np.ndarray, cardinality: int) -> WeakLabels:
    """Majority vote; ties go to the class probability split evenly (the label is the lowest tied class)."""
    if len(L) == 0:
        return WeakLabels(np.zeros(0, int), np.zeros((0, cardinality)), np.zeros(0))
    with _quiet():
        probs = MajorityLabelVoter(cardinality=cardinality).predict_proba(L)
    return _finish(L, probs)


def save_model(model: LabelModel, lf_names: list[str], classes: list[str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump({"model": model, "lf_names": lf_names, "classes": classes}, fh)
    tmp.replace(path)


def load_model(path: Path) -> tuple[LabelModel, list[str], list[str]]:
    with path.open("rb") as fh:
        data = pickle.load(fh)
    return data["model"], data["lf_names"], data["classes"]
