"""Random sampling: the baseline every AL strategy must beat."""
from __future__ import annotations

import numpy as np

from strategies.base import ScoringStrategy


class RandomStrategy(ScoringStrategy):
    """Uniformly random order over the pool, repeatable for a given ``seed``.

    The score is a seeded uniform draw per example, so ``select`` and ``score`` agree and
    the same seed always yields the same queue.
    """

    name = "random"
    needs_model = False

    def _score(self, pool, *, labeled, model, seed):
        rng = np.random.default_rng(seed)
        draws = rng.random(len(pool))
        return {ex.id: float(d) for ex, d in zip(pool, draws, strict=True)}
