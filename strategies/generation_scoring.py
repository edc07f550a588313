"""Base for strategies that score each pool example from its greedy generation."""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from strategies.base import ScoringStrategy
from strategies.features import FEATURES, inputs
from training.engine import Generation


class GreedyGenerationStrategy(ScoringStrategy):
    """Scores come from one greedy generation per pool input, taken from the shared
    :data:`~strategies.features.FEATURES` cache (one batched engine pass per round)."""

    needs_model = True

    def __init__(self, max_new_tokens: int = 64) -> None:
        self.max_new_tokens = max_new_tokens

    @abstractmethod
    def uncertainty(self, generations: Sequence[Generation]) -> np.ndarray:
        """Per-generation informativeness, higher = label sooner."""

    def _score(self, pool, *, labeled, model, seed):
        generations = FEATURES.greedy(model, inputs(pool), max_new_tokens=self.max_new_tokens)
        return {ex.id: float(s) for ex, s in zip(pool, self.uncertainty(generations), strict=True)}
