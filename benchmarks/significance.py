"""Paired tests of a strategy against random on the same test items.

Both tests pair the two systems item by item, which removes the variance between test items
(the dominant term: one 300-item score has a standard error of about 3 points).

- :func:`paired_bootstrap`: Koehn (2004, EMNLP, "Statistical Significance Tests for Machine
  Translation Evaluation") - resample test items with replacement ``n_resamples`` times (default
  10,000) and read the 95% interval and a two-sided p-value off the resampled mean differences.
  Works for any per-item score (token F1, ROUGE, exact match).
- :func:`mcnemar`: McNemar (1947, Psychometrika) exact test for binary per-item outcomes
  (exact match): only discordant items count; ``p = min(1, 2 * BinomCDF(min(b, c); b + c, 1/2))``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binomtest


@dataclass(frozen=True)
class PairedTestResult:
    """Outcome of a paired test of system ``a`` against system ``b`` (``a - b``)."""

    test: str
    mean_difference: float
    p_value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n_items: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _paired_arrays(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired test needs two equal-length score vectors, got {x.shape} and {y.shape}")
    if x.size == 0:
        raise ValueError("paired test needs at least one test item")
    return x, y


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 10_000, seed: int = 0, confidence: float = 0.95
) -> PairedTestResult:
    """Paired bootstrap over test items of ``mean(a) - mean(b)``.

    The two-sided p-value is twice the share of resampled differences on the far side of zero
    (Koehn, 2004), bounded by 1 and by ``1 / n_resamples`` from below when never crossed.
    """
    x, y = _paired_arrays(a, b)
    diff = x - y
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(n_resamples, diff.size))
    means = diff[idx].mean(axis=1)
    observed = float(diff.mean())
    if observed == 0.0 and not diff.any():
        p_value = 1.0
    else:
        far_side = np.mean(means <= 0.0) if observed > 0 else np.mean(means >= 0.0)
        p_value = float(min(1.0, max(2.0 * far_side, 1.0 / n_resamples)))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return PairedTestResult("paired_bootstrap", observed, p_value, float(low), float(high), int(diff.size))


def mcnemar(a: Sequence[float], b: Sequence[float]) -> PairedTestResult:
    """Exact McNemar test on binary per-item outcomes (1 = correct)."""
    x, y = _paired_arrays(a, b)
    if not np.isin(x, (0.0, 1.0)).all() or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("McNemar's test needs binary (0/1) per-item scores; use paired_bootstrap")
    only_a = int(np.sum((x == 1) & (y == 0)))
    only_b = int(np.sum((x == 0) & (y == 1)))
    p_value = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return PairedTestResult("mcnemar", float((x - y).mean()), p_value, n_items=int(x.size))
