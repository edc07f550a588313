"""Score a model on the fixed test split: greedy generations, then per-item metric values.

Per-item values (not only means) are kept so that strategies can be compared to random with
paired tests over the same test items (``benchmarks.significance``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from training.engine import Engine
from training.example import Example


@dataclass(frozen=True)
class Evaluation:
    """Predictions on the test split; per metric the corpus score and one value per test item."""

    predictions: list[str]
    scores: dict[str, float]
    item_scores: dict[str, list[float]]


def evaluate(
    engine: Engine, test: Sequence[Example], metrics: Sequence[str], max_new_tokens: int = 32
) -> Evaluation:
    """Greedy-decode every test input in one batched call and score it against its references.

    The curve value is ``training.metrics.compute`` (the mean over items, or corpus BLEU/chrF);
    per-item values come from ``training.metrics.per_example``.
    """
    from training.metrics import compute, per_example

    generations = engine.generate([e.input for e in test], n=1, temperature=0.0, max_new_tokens=max_new_tokens)
    predictions = [g[0].text for g in generations]
    references = [e.references for e in test]
    return Evaluation(
        predictions,
        {m: float(compute(m, predictions, references)) for m in metrics},
        {m: [float(v) for v in per_example(m, predictions, references)] for m in metrics},
    )
