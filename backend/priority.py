"""Turn a strategy's ranking into Label Studio prediction scores.

Label Studio's "Uncertainty sampling" serves the task whose prediction has the *lowest*
score, so the most informative task must get the lowest score.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from strategies import Strategy
from training.example import Example

# Greedy strategies (IDDS, facility location) cost O(pool x k); ranking the whole pool of
# a very large project each round is wasteful since people label the top first.
RANK_DEPTH = 2000


def priority_scores(ranked_ids: Sequence[Hashable]) -> dict[Hashable, float]:
    """Rank r of n (0 = most informative) -> score r / n, in [0, 1)."""
    n = len(ranked_ids)
    if len(set(ranked_ids)) != n:
        raise ValueError("ranking contains duplicate ids")
    return {task_id: rank / n for rank, task_id in enumerate(ranked_ids)}


def rank_pool(
    strategy: Strategy,
    pool: Sequence[Example],
    *,
    labeled: Sequence[Example] = (),
    model: Any = None,
    seed: int = 0,
    depth: int = RANK_DEPTH,
) -> list[Hashable]:
    """Every pool id, most informative first: the strategy orders the top ``depth``, the
    rest follow in pool order."""
    if not pool:
        return []
    top = strategy.select(pool, min(depth, len(pool)), labeled=labeled, model=model, seed=seed)
    chosen = set(top)
    return list(top) + [ex.id for ex in pool if ex.id not in chosen]
