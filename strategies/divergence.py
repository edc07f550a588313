"""How far apart two model predictions are, for neighbour-based strategies (SIGnAL, CAL)."""
from __future__ import annotations

import numpy as np

_PROBABILITY_FLOOR = 1e-12


def output_divergence(output_embeddings: np.ndarray, rows: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """``1 - cos(o_i, o_j)`` between generated outputs ``i = rows[r]`` and ``j = neighbours[r, c]``
    (embeddings L2-normalised), shape of ``neighbours``. Missing neighbours (-1) give 0."""
    valid = neighbours >= 0
    cos = np.einsum("rd,rcd->rc", output_embeddings[rows], output_embeddings[np.where(valid, neighbours, 0)])
    return np.where(valid, np.clip(1.0 - cos, 0.0, 2.0), 0.0)


def kl_divergence(probabilities: np.ndarray, rows: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """``KL(p_j || p_i) = sum_c p_j(c) log(p_j(c) / p_i(c))`` for label distributions, the
    neighbour ``j = neighbours[r, c]`` as reference (Margatina et al., 2021). Missing neighbours give 0."""
    valid = neighbours >= 0
    p = np.clip(probabilities, _PROBABILITY_FLOOR, None)
    p = p / p.sum(axis=1, keepdims=True)
    own = p[rows][:, None, :]
    other = p[np.where(valid, neighbours, 0)]
    return np.where(valid, (other * np.log(other / own)).sum(axis=-1), 0.0)


def label_distributions(pool, key: str) -> np.ndarray | None:
    """Stack ``ex.meta[key]`` (one probability vector per example, e.g. over a Label Studio
    ``Choices`` set) when every example has one of the same length; else ``None``."""
    rows = [ex.meta.get(key) for ex in pool]
    if any(r is None for r in rows) or len({len(r) for r in rows}) != 1:
        return None
    return np.asarray(rows, dtype=np.float64)


def prediction_divergence(
    examples, rows: np.ndarray, neighbours: np.ndarray, model, *, label_probs_key: str, max_new_tokens: int
) -> np.ndarray:
    """Divergence between each row's prediction and its neighbours' (``-1`` = no neighbour).

    KL between label distributions when every example carries ``meta[label_probs_key]`` (a
    ``Choices`` config); otherwise ``1 - cos`` between embeddings of the greedy generations.
    """
    from strategies.features import FEATURES, inputs

    probabilities = label_distributions(examples, label_probs_key)
    if probabilities is not None:
        return kl_divergence(probabilities, rows, neighbours)
    generations = FEATURES.greedy(model, inputs(examples), max_new_tokens=max_new_tokens)
    return output_divergence(FEATURES.embeddings([g.text for g in generations], model), rows, neighbours)
