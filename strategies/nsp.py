"""Normalized sequence probability (NSP) uncertainty sampling."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from strategies.generation_scoring import GreedyGenerationStrategy
from training.engine import Generation


def nsp_uncertainty(generations: Sequence[Generation]) -> np.ndarray:
    """``1 - exp(mean_t log p(y_t | y_<t, x))`` per generation; an empty generation scores 0."""
    return np.array([1.0 - g.normalized_probability for g in generations], dtype=np.float64)


class NSPStrategy(GreedyGenerationStrategy):
    """Normalized sequence probability (Ueffing & Ney, 2007, Computational Linguistics 33(1),
    "Word-level confidence estimation for machine translation").

    Uncertainty of the greedy generation ``y`` of input ``x``:
    ``u(x) = 1 - exp((1/|y|) * sum_t log p(y_t | y_<t, x))`` — one minus the geometric-mean
    token probability, so long outputs are not penalised for their length. Selects the
    examples the model is least sure of. Defaults: greedy decoding, ``max_new_tokens=64``.
    """

    name = "nsp"

    def uncertainty(self, generations):
        return nsp_uncertainty(generations)
