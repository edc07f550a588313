"""SIGnAL acquisition: prediction disagreement with close neighbours."""
from __future__ import annotations

import numpy as np

from strategies.base import ScoringStrategy
from strategies.divergence import prediction_divergence
from strategies.features import FEATURES, inputs
from strategies.similarity import knn_excluding_self

#: Distances below this count as this (duplicate inputs would otherwise divide by zero).
MIN_DISTANCE = 1e-6


def signal_scores(divergence: np.ndarray, neighbour_similarity: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``mean_{j in kNN(i)} div(i, j) / dist(i, j)`` with ``dist = 1 - cosine similarity`` of
    inputs; only ``valid`` neighbours count (rows without any score 0)."""
    distance = np.maximum(1.0 - neighbour_similarity, MIN_DISTANCE)
    ratio = np.where(valid, divergence / distance, 0.0)
    return ratio.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)


class SIGnALStrategy(ScoringStrategy):
    """SIGnAL acquisition (arXiv review copy "Self-Informed Generative Active Learning").

    ``a(x_i) = (1/k) sum_{j in kNN(i)} D(f(x_i), f(x_j)) / d(e_i, e_j)``: examples whose
    prediction disagrees with those of inputs close to them (a steep, uncertain region of the
    model) while staying near other pool points (in-distribution, unlike outliers whose
    neighbours are far). ``e`` are input embeddings, ``d`` the cosine distance, kNN among
    the pool. The prediction divergence ``D`` is:

    - generation: ``1 - cos`` of the embeddings of the greedy generations;
    - classification (a Label Studio ``Choices`` config): ``KL`` between label distributions,
      used when every pool example carries ``meta[label_probs_key]``.

    Defaults: ``n_neighbors=10``, ``label_probs_key="label_probs"``, ``max_new_tokens=64``.
    """

    name = "signal"
    needs_model = True

    def __init__(self, n_neighbors: int = 10, label_probs_key: str = "label_probs", max_new_tokens: int = 64) -> None:
        self.n_neighbors = n_neighbors
        self.label_probs_key = label_probs_key
        self.max_new_tokens = max_new_tokens

    def _score(self, pool, *, labeled, model, seed):
        texts = inputs(pool)
        neighbours, similarity = knn_excluding_self(FEATURES.embeddings(texts, model), self.n_neighbors, seed=seed)
        rows = np.arange(len(pool))
        divergence = prediction_divergence(pool, rows, neighbours, model, label_probs_key=self.label_probs_key,
                                           max_new_tokens=self.max_new_tokens)
        scores = signal_scores(divergence, similarity, neighbours >= 0)
        return {ex.id: float(s) for ex, s in zip(pool, scores, strict=True)}
