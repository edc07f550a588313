"""Core-set selection by greedy k-center."""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from strategies.base import Strategy
from strategies.features import FEATURES, inputs
from strategies.similarity import max_similarity


def k_center_order(pool_embeddings: np.ndarray, labeled_embeddings: np.ndarray, k: int, seed: int = 0) -> list[int]:
    """Greedy k-center: each pick is the pool row farthest (cosine distance) from the labeled
    rows and earlier picks. With nothing labeled the first pick is a seeded random row."""
    pool_embeddings = np.asarray(pool_embeddings, dtype=np.float32)
    if len(labeled_embeddings):
        nearest = 1.0 - max_similarity(pool_embeddings, labeled_embeddings).astype(np.float64)
        first = None
    else:
        nearest = np.full(len(pool_embeddings), np.inf)
        first = int(np.random.default_rng(seed).integers(len(pool_embeddings)))
    order: list[int] = []
    for _ in tqdm(range(k), desc="k-center", disable=k < 200):
        best = first if first is not None and not order else int(np.argmax(nearest))
        order.append(best)
        nearest = np.minimum(nearest, 1.0 - pool_embeddings @ pool_embeddings[best])
        nearest[order] = -np.inf  # picked rows never win again, even among exact duplicates
    return order


class CoreSetStrategy(Strategy):
    """Core-set (Sener and Savarese, 2018, ICLR, "Active Learning for Convolutional Neural
    Networks: A Core-Set Approach"), greedy k-center variant.

    Picks ``argmax_{x in pool} min_{c in L ∪ S} d(x, c)`` repeatedly: the pool point worst
    covered by the labeled set ``L`` and the picks ``S`` so far, a 2-approximation of the
    minimax-cover problem. ``d`` is the cosine distance of input embeddings (the engine's
    ``embed`` or all-MiniLM-L6-v2). Experimental design: no model needed. No hyperparameters.
    """

    name = "coreset"
    needs_model = False

    def _select(self, pool, k, *, labeled, model, seed):
        pool_embeddings = FEATURES.embeddings(inputs(pool), model)
        labeled_embeddings = FEATURES.embeddings(inputs(labeled), model) if labeled else np.zeros((0, 1))
        return [pool[i].id for i in k_center_order(pool_embeddings, labeled_embeddings, k, seed)]
