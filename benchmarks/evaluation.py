"""Score a model on the fixed test split: greedy generations, then per-item metric values.

Per-item values (not only means) are kept so that strategies can be compared to random with
paired tests over the same test items (``benchmarks.significance``).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.engine import Engine
from training.example import Example

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """Predictions on the test split and, per metric, one value per test item."""

    predictions: list[str]
    item_scores: dict[str, list[float]]

    def mean(self, metric: str) -> float:
        return float(np.mean(self.item_scores[metric]))


def score_items(metric: str, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> list[float]:
    """One value of ``metric`` per item, via ``training.metrics.compute`` on single items
    (the benchmark's metrics are item averages: exact match, token F1, ROUGE)."""
    from training.metrics import compute

    return [float(compute(metric, [p], [r])) for p, r in zip(predictions, references, strict=True)]


def evaluate(
    engine: Engine, test: Sequence[Example], metrics: Sequence[str], max_new_tokens: int = 32
) -> Evaluation:
    """Greedy-decode every test input in one batched call and score it against its references."""
    generations = engine.generate([e.input for e in test], n=1, temperature=0.0, max_new_tokens=max_new_tokens)
    predictions = [g[0].text for g in generations]
    references = [e.references for e in test]
    return Evaluation(predictions, {m: score_items(m, predictions, references) for m in metrics})
