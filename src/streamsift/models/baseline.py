"""The classical baseline reported beside the network: TF-IDF word 1-2 grams + logistic regression."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Baseline:
    vectorizer: Any
    model: Any

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.model.predict_proba(self.vectorizer.transform(texts))


def fit_baseline(texts: list[str], y: np.ndarray, w: np.ndarray | None = None) -> Baseline:
    """Fit on the same rows and weights as the network (class-balanced, like it)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)
    model = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced")
    model.fit(vec.fit_transform(texts), y, sample_weight=w)
    return Baseline(vec, model)


__all__ = ["Baseline", "fit_baseline"]
