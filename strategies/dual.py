"""DUAL: diversity (IDDS) candidates, refined by uncertainty (BLEUVar)."""
from __future__ import annotations

import numpy as np

from strategies.base import Strategy
from strategies.bleuvar import BLEUVarStrategy
from strategies.features import FEATURES, inputs
from strategies.idds import idds_order


class DUALStrategy(Strategy):
    """DUAL (Giouroukis, Gidiotis & Tsoumakas, 2025, "DUAL: Diversity and Uncertainty Active
    Learning for Text Summarization", arXiv 2503.00867; a baseline of the SIGnAL paper).

    1. IDDS (λ=``lam``) ranks the pool greedily and keeps the top ``candidate_ratio * k``
       candidates: representative, not yet covered by the labeled set.
    2. Only those candidates are sampled ``n_samples`` times and ranked by BLEUVar; the ``k``
       most uncertain are returned.

    Sampling only the candidates keeps the expensive uncertainty pass to a few times the
    batch size. Defaults: ``lam=0.667``, ``candidate_ratio=3``, ``n_samples=10``,
    ``temperature=1.0``, ``max_new_tokens=64``.
    """

    name = "dual"
    needs_model = True

    def __init__(
        self,
        lam: float = 0.667,
        candidate_ratio: int = 3,
        n_samples: int = 10,
        temperature: float = 1.0,
        max_new_tokens: int = 64,
    ) -> None:
        self.lam = lam
        self.candidate_ratio = candidate_ratio
        self.n_samples = n_samples
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens

    def _select(self, pool, k, *, labeled, model, seed):
        pool_embeddings = FEATURES.embeddings(inputs(pool), model)
        labeled_embeddings = FEATURES.embeddings(inputs(labeled), model) if labeled else np.zeros((0, 1))
        n_candidates = min(len(pool), max(k, self.candidate_ratio * k))
        candidates = [pool[i] for i in idds_order(pool_embeddings, labeled_embeddings, n_candidates, self.lam)]
        bleuvar = BLEUVarStrategy(self.n_samples, self.temperature, self.max_new_tokens)
        return bleuvar.select(candidates, k, model=model, seed=seed)
