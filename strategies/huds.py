"""HUDS: hybrid uncertainty and diversity sampling."""
from __future__ import annotations

import numpy as np

from strategies.base import ScoringStrategy
from strategies.features import FEATURES, inputs


def min_max(values: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1]; a constant vector maps to zeros (no information to rank by)."""
    values = np.asarray(values, dtype=np.float64)
    span = values.max() - values.min() if len(values) else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def huds_scores(uncertainty: np.ndarray, embeddings: np.ndarray, n_strata: int = 10, lam: float = 0.5) -> np.ndarray:
    """``lam * minmax(diversity) + (1 - lam) * minmax(uncertainty)``, where diversity is the
    cosine distance of each embedding to the centroid of its uncertainty stratum (``n_strata``
    equal-width bins between the smallest and largest uncertainty)."""
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    edges = np.linspace(uncertainty.min(), uncertainty.max(), n_strata + 1)
    strata = np.clip(np.searchsorted(edges, uncertainty, side="right") - 1, 0, n_strata - 1)
    diversity = np.zeros(len(uncertainty))
    for stratum in np.unique(strata):
        members = strata == stratum
        centroid = embeddings[members].mean(axis=0)
        norm = np.linalg.norm(centroid)
        if norm > 0:
            diversity[members] = 1.0 - embeddings[members] @ (centroid / norm)
    return lam * min_max(diversity) + (1 - lam) * min_max(uncertainty)


class HUDSStrategy(ScoringStrategy):
    """Hybrid Uncertainty and Diversity Sampling (Azeemi, Qazi, Raza, 2025, COLING, "To Label
    or Not to Label: Hybrid Active Learning for Neural Machine Translation").

    1. Uncertainty ``u(x) = -(1/|y|) sum_t log p(y_t | y_<t, x)``: the length-normalised
       negative log-likelihood of the greedy generation.
    2. Stratify the pool into ``n_strata=10`` equal-width bins of ``u``.
    3. Diversity ``d(x) = 1 - cos(e(x), c_s)``, ``c_s`` the centroid of the input embeddings
       of ``x``'s stratum: atypical examples within an uncertainty level.
    4. ``score = lam * d + (1 - lam) * u`` with ``lam=0.5``.

    Unlike the reference code, ``u`` and ``d`` are **min-max normalised** to [0, 1] before
    mixing: NLL is unbounded (typically 0-5 nats) while a cosine distance to a centroid is
    at most ~1 and usually < 0.5, so unnormalised the sum is ranked almost only by
    uncertainty and ``lam`` loses its meaning. Defaults: ``lam=0.5``, ``n_strata=10``,
    ``max_new_tokens=64``.
    """

    name = "huds"
    needs_model = True

    def __init__(self, lam: float = 0.5, n_strata: int = 10, max_new_tokens: int = 64) -> None:
        self.lam = lam
        self.n_strata = n_strata
        self.max_new_tokens = max_new_tokens

    def _score(self, pool, *, labeled, model, seed):
        texts = inputs(pool)
        generations = FEATURES.greedy(model, texts, max_new_tokens=self.max_new_tokens)
        nll = np.array([-g.mean_logprob for g in generations])
        scores = huds_scores(nll, FEATURES.embeddings(texts, model), self.n_strata, self.lam)
        return {ex.id: float(s) for ex, s in zip(pool, scores, strict=True)}
