"""CAL: contrastive active learning."""
from __future__ import annotations

import numpy as np

from strategies.base import ScoringStrategy
from strategies.divergence import prediction_divergence
from strategies.features import FEATURES, inputs
from strategies.similarity import knn, knn_excluding_self


class CALStrategy(ScoringStrategy):
    """Contrastive Active Learning (Margatina, Vernikos, Barrault and Aletras, 2021, EMNLP,
    "Active Learning by Acquiring Contrastive Examples").

    ``CAL(x) = (1/k) sum_{l in kNN_L(x)} KL(p(y | x_l) || p(y | x))``: inputs that look like
    labeled ones (k nearest labeled neighbours by input-embedding cosine) but on which the
    model predicts something else — contrastive examples near the decision boundary. For
    generation the prediction divergence is ``1 - cos`` of the embeddings of the greedy
    generations (the model's prediction for ``x_l`` too, as in the paper, not its gold label);
    for classification ``KL`` between ``meta[label_probs_key]`` distributions. With nothing
    labeled yet the neighbours are taken from the pool instead. Defaults: ``n_neighbors=10``,
    ``max_new_tokens=64``.
    """

    name = "cal"
    needs_model = True

    def __init__(self, n_neighbors: int = 10, label_probs_key: str = "label_probs", max_new_tokens: int = 64) -> None:
        self.n_neighbors = n_neighbors
        self.label_probs_key = label_probs_key
        self.max_new_tokens = max_new_tokens

    def _score(self, pool, *, labeled, model, seed):
        examples = list(pool) + list(labeled)
        texts = inputs(examples)
        embeddings = FEATURES.embeddings(texts, model)
        pool_embeddings = embeddings[: len(pool)]
        if labeled:
            neighbours, _ = knn(pool_embeddings, embeddings[len(pool) :], self.n_neighbors, seed=seed)
            neighbours = np.where(neighbours >= 0, neighbours + len(pool), -1)
        else:
            neighbours, _ = knn_excluding_self(pool_embeddings, self.n_neighbors, seed=seed)
        rows = np.arange(len(pool))
        divergence = prediction_divergence(examples, rows, neighbours, model, label_probs_key=self.label_probs_key,
                                           max_new_tokens=self.max_new_tokens)
        valid = neighbours >= 0
        scores = divergence.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
        return {ex.id: float(s) for ex, s in zip(pool, scores, strict=True)}
