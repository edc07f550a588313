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
