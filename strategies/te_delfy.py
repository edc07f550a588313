"""TE-delfy: token entropy combined with decay-logarithm frequency."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata
from tqdm.auto import tqdm

from strategies.base import Strategy
from strategies.features import FEATURES, inputs
from strategies.mte import mean_token_entropy
from strategies.text import stemmed_words


class DelfyScorer:
    """Decay-logarithm frequency of each pool sentence, updated as sentences are selected.

    ``F(w) = log(1 + C_U(w)) / Z * exp(-lam1 * C_L(w)) * exp(-lam2 * C_S(w))`` with ``C_U``,
    ``C_L``, ``C_S`` the counts of (lowercased, stemmed) word ``w`` in the unlabeled pool, the
    labeled set and the already-selected batch, ``Z = sum_w log(1 + C_U(w))``; a sentence
    scores the mean ``F`` of its words. Frequent words are representative; the decays stop
    the batch from covering the same words again.
    """

    def __init__(
        self, pool_tokens: Sequence[list[str]], labeled_tokens: Sequence[list[str]], lam1: float = 1.0, lam2: float = 1.0
    ) -> None:
        vocabulary = {w: i for i, w in enumerate(dict.fromkeys(w for toks in pool_tokens for w in toks))}
        rows, cols = [], []
        for row, toks in enumerate(pool_tokens):
            for w in toks:
                rows.append(row)
                cols.append(vocabulary[w])
        counts = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(pool_tokens), max(1, len(vocabulary)))
        )
        lengths = np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1)
        self._doc_term = sp.diags(1.0 / lengths) @ counts  # row i: word frequencies of sentence i
        self._counts = counts
        in_pool = np.asarray(counts.sum(axis=0)).ravel()
        labeled = Counter(w for toks in labeled_tokens for w in toks)
        in_labeled = np.array([labeled.get(w, 0) for w in vocabulary] or [0], dtype=float)
        log_freq = np.log1p(in_pool)
        self._base = log_freq / max(log_freq.sum(), 1e-12) * np.exp(-lam1 * in_labeled)
        self._lam2 = lam2
        self._in_selected = np.zeros_like(self._base)

    def scores(self) -> np.ndarray:
        return self._doc_term @ (self._base * np.exp(-self._lam2 * self._in_selected))

    def mark_selected(self, row: int) -> None:
        self._in_selected += self._counts.getrow(row).toarray().ravel()


def te_delfy_order(
    entropy: np.ndarray, delfy: DelfyScorer, k: int
) -> list[int]:
    """Greedy: each step picks the smallest sum of the entropy rank and the current delfy
    rank (1 = best; ties broken by entropy rank, then position), then decays its words."""
    entropy_rank = rankdata(-np.asarray(entropy), method="min")
    taken = np.zeros(len(entropy), dtype=bool)
    order: list[int] = []
    for _ in tqdm(range(k), desc="TE-delfy", disable=k < 200):
        delfy_score = delfy.scores()
        delfy_score[taken] = -np.inf
        combined = entropy_rank + rankdata(-delfy_score, method="min")
        combined = np.where(taken, np.inf, combined)
        best = int(np.lexsort((np.arange(len(entropy)), entropy_rank, combined))[0])
        order.append(best)
        taken[best] = True
        delfy.mark_selected(best)
    return order


class TEDelfyStrategy(Strategy):
    """TE-delfy (Zhao et al., 2020, Findings of EMNLP, "Active Learning
    Approaches to Enhancing Neural Machine Translation").

    Ranks the pool twice — by mean token entropy of the greedy generation (uncertainty) and
    by decay-logarithm frequency of the input's words (representativeness and novelty, see
    :class:`DelfyScorer`) — and selects greedily by the sum of the two ranks, decaying the
    words of each pick so the batch covers new vocabulary. Words are lowercased and
    Porter-stemmed. Defaults: ``lam1=1.0`` (labeled decay), ``lam2=1.0`` (selected decay),
    ``max_new_tokens=64``.
    """

    name = "te_delfy"
    needs_model = True

    def __init__(self, lam1: float = 1.0, lam2: float = 1.0, max_new_tokens: int = 64) -> None:
        self.lam1 = lam1
        self.lam2 = lam2
        self.max_new_tokens = max_new_tokens

    def _select(self, pool, k, *, labeled, model, seed):
        entropy = mean_token_entropy(FEATURES.greedy(model, inputs(pool), max_new_tokens=self.max_new_tokens))
        delfy = DelfyScorer(
            [stemmed_words(t) for t in inputs(pool)], [stemmed_words(t) for t in inputs(labeled)], self.lam1, self.lam2
        )
        return [pool[i].id for i in te_delfy_order(entropy, delfy, k)]
