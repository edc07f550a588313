"""HADAS: hallucination-diversity-aware sampling, with offline faithfulness components."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from scipy.spatial.distance import jensenshannon

from strategies.base import Strategy, StrategyError
from strategies.features import FEATURES, inputs
from strategies.text import content_words, sentences, stem

Embed = Callable[[Sequence[str]], np.ndarray]


class FaithfulnessComponent(Protocol):
    """Scores how well each output is supported by its source, in [0, 1] (1 = fully supported)."""

    def __call__(self, sources: Sequence[str], outputs: Sequence[str], embed: Embed) -> np.ndarray: ...


def _best_match_precision(source_units: list[list[str]], output_units: list[list[str]], embed: Embed) -> np.ndarray:
    """Mean over each output's units of the best cosine match among its source's units
    (clipped at 0); an output without units is fully supported (it claims nothing)."""
    vocabulary = list(dict.fromkeys(u for units in source_units + output_units for u in units))
    if not vocabulary:
        return np.ones(len(output_units))
    vectors = embed(vocabulary)
    row = {u: i for i, u in enumerate(vocabulary)}
    scores = np.ones(len(output_units))
    for i, (src, out) in enumerate(zip(source_units, output_units, strict=True)):
        if out:
            scores[i] = 0.0 if not src else float(
                np.clip(vectors[[row[u] for u in out]] @ vectors[[row[u] for u in src]].T, 0, 1).max(axis=1).mean()
            )
    return scores


def sentence_support(sources: Sequence[str], outputs: Sequence[str], embed: Embed) -> np.ndarray:
    """Entailment substitute: each generated sentence's best cosine similarity to a source
    sentence, averaged (SummaC-style sentence alignment, Laban et al. 2022, with a sentence
    encoder instead of an NLI model, which does not ship offline)."""
    return _best_match_precision([sentences(s) for s in sources], [sentences(o) for o in outputs], embed)


def lexical_support(sources: Sequence[str], outputs: Sequence[str], embed: Embed) -> np.ndarray:
    """QA/discourse-consistency substitute: the share of the output's (stemmed) content words
    that also occur in the source. QA-based checkers (QAGS, Wang et al. 2020) ask whether
    the facts a summary states are answerable from the source; a content word missing
    from the source is such an unanswerable fact. ``embed`` is unused."""
    scores = np.ones(len(outputs))
    for i, (src, out) in enumerate(zip(sources, outputs, strict=True)):
        claimed = {stem(w) for w in content_words(out)}
        if claimed:
            scores[i] = len(claimed & {stem(w) for w in content_words(src)}) / len(claimed)
    return scores


def token_precision(sources: Sequence[str], outputs: Sequence[str], embed: Embed) -> np.ndarray:
    """BERTScore precision (Zhang et al., 2020, ICLR) with static word embeddings from the
    sentence encoder instead of contextual ones: each output content word's best cosine
    match among the source's words, averaged."""
    return _best_match_precision([content_words(s) for s in sources], [content_words(o) for o in outputs], embed)


DEFAULT_COMPONENTS: tuple[FaithfulnessComponent, ...] = (sentence_support, lexical_support, token_precision)


def hadas_order(
    hallucination: np.ndarray, reference: np.ndarray, k: int, weights: Sequence[float], lam: float = 0.33
) -> list[int]:
    """Greedy HADAS: positions of ``k`` rows of ``hallucination`` (``n x c`` component scores,
    1 = hallucinated), best first.

    ``score_i = (1 - lam) * sum_c w_c h_ic + lam * JSD(p_i, q)`` with ``p_i = h_i / sum h_i``
    the example's hallucination-type profile and ``q`` the mean profile of ``reference`` (the
    labeled set) plus every pick so far; JSD is the base-2 Jensen-Shannon distance, in [0, 1].
    With nothing labeled or picked yet, diversity is 0.
    """
    weights = np.asarray(weights, dtype=float)
    severity = hallucination @ weights

    def profiles(h: np.ndarray) -> np.ndarray:
        total = h.sum(axis=1, keepdims=True)
        return np.where(total > 0, h / np.where(total > 0, total, 1), 1.0 / h.shape[1])

    pool_profiles = profiles(hallucination)
    profile_sum = profiles(reference).sum(axis=0) if len(reference) else np.zeros(hallucination.shape[1])
    n_reference = len(reference)
    taken = np.zeros(len(hallucination), dtype=bool)
    order: list[int] = []
    for _ in range(k):
        if n_reference:
            q = profile_sum / n_reference
            diversity = np.nan_to_num(jensenshannon(pool_profiles, q[None, :], base=2, axis=1))
        else:
            diversity = np.zeros(len(hallucination))
        score = np.where(taken, -np.inf, (1 - lam) * severity + lam * diversity)
        best = int(np.argmax(score))
        order.append(best)
        taken[best] = True
        profile_sum += pool_profiles[best]
        n_reference += 1
    return order


class HADASStrategy(Strategy):
    """HADAS (Xia et al., 2024, NAACL, "Hallucination Diversity-Aware Active Learning for
    Text Summarization").

    Generates an output per input, measures three kinds of hallucination against the source
    (the input), and selects examples that hallucinate much and in ways the labeled set does
    not already show (see :func:`hadas_order`; ``lam=0.33``, components weighted 1/3 each).
    The paper's components need models that do not ship offline; the defaults substitute
    (each returns faithfulness ``f`` in [0, 1]; hallucination ``h = 1 - f``, so a less
    faithful generation is more informative):

    - semantic-frame / entailment (NLI of the generation by the source) →
      :func:`sentence_support`: sentence-embedding alignment of output to source sentences;
    - discourse / QA-style consistency → :func:`lexical_support`: share of the output's
      content words found in the source;
    - content verifiability (BERTScore precision against the source) →
      :func:`token_precision`: the same greedy matching with static word embeddings.

    Components are pluggable: pass ``components`` (callables ``(sources, outputs, embed) ->
    faithfulness``) and matching ``weights``. Defaults: ``lam=0.33``, ``weights=(1/3,)*3``,
    ``max_new_tokens=64``.
    """

    name = "hadas"
    needs_model = True

    def __init__(
        self,
        lam: float = 0.33,
        weights: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
        components: Sequence[FaithfulnessComponent] = DEFAULT_COMPONENTS,
        max_new_tokens: int = 64,
    ) -> None:
        self.lam = lam
        self.weights = weights
        self.components = components
        self.max_new_tokens = max_new_tokens

    def hallucination(self, examples, model) -> np.ndarray:
        """``len(examples) x len(components)`` hallucination scores ``1 - faithfulness``."""
        if len(self.weights) != len(self.components):
            raise StrategyError(
                f"hadas: {len(self.components)} components but {len(self.weights)} weights; give one weight each"
            )
        sources = inputs(examples)
        outputs = [g.text for g in FEATURES.greedy(model, sources, max_new_tokens=self.max_new_tokens)]

        def embed(texts: Sequence[str]) -> np.ndarray:
            return FEATURES.embeddings(texts, model)

        return np.stack([1.0 - np.clip(c(sources, outputs, embed), 0, 1) for c in self.components], axis=1)

    def _select(self, pool, k, *, labeled, model, seed):
        reference = self.hallucination(labeled, model) if labeled else np.zeros((0, len(self.components)))
        order = hadas_order(self.hallucination(pool, model), reference, k, self.weights, self.lam)
        return [pool[i].id for i in order]
