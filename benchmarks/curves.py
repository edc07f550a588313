"""Learning-curve arithmetic: mean curves over seeds, label-savings ratio, area under the curve.

Pure functions on ``(labels, values)`` pairs so they can be checked against hand-made curves.

The label-savings ratio follows the evaluation of the ATGen paper (Tsvigun et al., 2025, ACL
System Demonstrations, arXiv 2506.23342) and of Tsvigun et al. (2022, EMNLP, "Active Learning
for Abstractive Text Summarization"): the quality ``Q`` random sampling reaches with its whole
budget is the target; a strategy's cost is the number of labels at which its curve first reaches
``Q``, found by linear interpolation between measured points::

    savings = labels_random(Q) / labels_strategy(Q),   Q = final quality of random

A ratio of 2 means the strategy needs half the labels. A curve that never reaches ``Q`` yields
``None`` ("not reached"), never an extrapolated guess.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanCurve:
    """A learning curve averaged over seeds: per label count, mean, std and seed count."""

    labels: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    n: tuple[int, ...]


def mean_curve(points: Iterable[tuple[float, float]]) -> MeanCurve:
    """Average ``(labels, value)`` points of several seeds per label count.

    ``std`` is the sample standard deviation (ddof=1; 0.0 for a single seed).
    """
    by_labels: dict[float, list[float]] = defaultdict(list)
    for labels, value in points:
        by_labels[labels].append(float(value))
    if not by_labels:
        raise ValueError("mean_curve needs at least one point")
    xs = sorted(by_labels)
    values = [np.asarray(by_labels[x]) for x in xs]
    return MeanCurve(
        labels=tuple(xs),
        mean=tuple(float(v.mean()) for v in values),
        std=tuple(float(v.std(ddof=1)) if len(v) > 1 else 0.0 for v in values),
        n=tuple(len(v) for v in values),
    )


def _check_curve(labels: Sequence[float], values: Sequence[float]) -> None:
    if len(labels) != len(values):
        raise ValueError(f"curve has {len(labels)} label counts but {len(values)} values")
    if len(labels) == 0:
        raise ValueError("empty learning curve")
    if any(b <= a for a, b in zip(labels, labels[1:], strict=False)):
        raise ValueError(f"label counts must be strictly increasing, got {list(labels)}")


def labels_to_reach(labels: Sequence[float], values: Sequence[float], target: float) -> float | None:
    """Labels at which the curve first reaches ``target``, interpolated linearly; ``None`` if never."""
    _check_curve(labels, values)
    for i, value in enumerate(values):
        if value >= target:
            if i == 0:
                return float(labels[0])
            x0, x1, y0, y1 = labels[i - 1], labels[i], values[i - 1], values[i]
            return float(x0 + (target - y0) / (y1 - y0) * (x1 - x0))
    return None


def savings_ratio(
    random_labels: Sequence[float],
    random_values: Sequence[float],
    strategy_labels: Sequence[float],
    strategy_values: Sequence[float],
    target: float | None = None,
) -> float | None:
    """Labels random needs to reach ``target`` divided by labels the strategy needs.

    ``target`` defaults to random's final quality. ``None`` when the strategy does not reach it.
    """
    _check_curve(random_labels, random_values)
    quality = float(random_values[-1]) if target is None else target
    needed_by_random = labels_to_reach(random_labels, random_values, quality)
    needed_by_strategy = labels_to_reach(strategy_labels, strategy_values, quality)
    if needed_by_random is None or needed_by_strategy is None:
        return None
    return needed_by_random / needed_by_strategy


def area_under_curve(labels: Sequence[float], values: Sequence[float], normalize: bool = True) -> float:
    """Trapezoidal area under the learning curve.

    Normalised by the label range (default) it is the average quality over the budget, in the
    metric's own units, so curves over the same label range compare directly. A single point
    has zero width: its normalised area is its value.
    """
    _check_curve(labels, values)
    if len(labels) == 1:
        return float(values[0]) if normalize else 0.0
    x = np.asarray(labels, dtype=float)
    y = np.asarray(values, dtype=float)
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return area / float(x[-1] - x[0]) if normalize else area
