"""Mean token entropy (MTE) uncertainty sampling."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from strategies.generation_scoring import GreedyGenerationStrategy
from training.engine import Generation


def mean_token_entropy(generations: Sequence[Generation]) -> np.ndarray:
    """``(1/|y|) * sum_t H(p(. | y_<t, x))`` per generation; an empty generation scores 0."""
    return np.array([g.mean_entropy for g in generations], dtype=np.float64)


class MTEStrategy(GreedyGenerationStrategy):
    """Mean token entropy (Zhao et al., 2020, Findings of EMNLP, "Active Learning Approaches
    to Enhancing Neural Machine Translation").

    ``u(x) = (1/|y|) * sum_t H_t`` with ``H_t = -sum_v p(v | y_<t, x) log p(v | y_<t, x)`` the
    entropy of the full next-token distribution at each step of the greedy generation ``y``.
    Defaults: greedy decoding, ``max_new_tokens=64``.
    """

    name = "mte"

    def uncertainty(self, generations):
        return mean_token_entropy(generations)
