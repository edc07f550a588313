"""BLEUVar: disagreement between stochastic generations."""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from strategies.base import ScoringStrategy
from strategies.features import FEATURES, inputs


@functools.lru_cache(maxsize=1)
def _sentence_bleu():
    from sacrebleu.metrics import BLEU

    # effective_order: short outputs without 4-gram matches still get a graded score.
    return BLEU(effective_order=True)


def bleu_variance(samples: Sequence[str]) -> float:
    """``sum_{i != j} (1 - BLEU(y_i, y_j))^2 / (N (N - 1))`` over ordered pairs (BLEU is not
    symmetric); 0 for fewer than two samples. BLEU in [0, 1]."""
    n = len(samples)
    if n < 2:
        return 0.0
    bleu = _sentence_bleu()
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total += (1.0 - bleu.sentence_score(samples[i], [samples[j]]).score / 100.0) ** 2
    return total / (n * (n - 1))


class BLEUVarStrategy(ScoringStrategy):
    """BLEUVar (Xiao, Gomez and Gal, 2020, arXiv:2006.08344, "Wat zei je? Detecting
    Out-of-Distribution Translations with Variational Transformers").

    Draws ``N`` stochastic generations per input and scores
    ``BLEUVar(x) = sum_{i != j} (1 - BLEU(y_i, y_j))^2 / (N (N - 1))``: the more the samples
    disagree, the less the model knows. The paper samples with MC dropout; here the engine
    samples from the temperature-scaled output distribution (the model stays in eval mode,
    the usual choice for LLMs where dropout is off). Defaults: ``n_samples=10``,
    ``temperature=1.0``, ``max_new_tokens=64``; ``seed`` seeds the sampling.
    """

    name = "bleuvar"
    needs_model = True

    def __init__(self, n_samples: int = 10, temperature: float = 1.0, max_new_tokens: int = 64) -> None:
        self.n_samples = n_samples
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens

    def sample_texts(self, pool, model, seed) -> list[list[str]]:
        samples = FEATURES.generations(
            model,
            inputs(pool),
            n=self.n_samples,
            temperature=self.temperature,
            max_new_tokens=self.max_new_tokens,
            seed=seed,
        )
        return [[g.text for g in gens] for gens in samples]

    def _score(self, pool, *, labeled, model, seed):
        texts = self.sample_texts(pool, model, seed)
        variances = [bleu_variance(s) for s in tqdm(texts, desc="BLEUVar", disable=len(texts) < 500)]
        return {ex.id: float(v) for ex, v in zip(pool, np.asarray(variances), strict=True)}
