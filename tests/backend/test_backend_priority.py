import pytest

from backend.priority import priority_scores, rank_pool
from strategies import get_strategy
from training.example import Example

pytestmark = pytest.mark.unit


def test_most_informative_task_gets_the_lowest_score():
    scores = priority_scores([30, 10, 20])
    assert scores[30] < scores[10] < scores[20]
    assert min(scores.values()) == 0.0 and max(scores.values()) < 1.0


def test_duplicate_ids_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        priority_scores([1, 2, 1])


def test_rank_pool_covers_every_task_once_and_respects_depth():
    pool = [Example(id=i, input=f"q{i}") for i in range(50)]
    ranking = rank_pool(get_strategy("random"), pool, seed=3, depth=10)
    assert sorted(ranking) == list(range(50))
    # beyond the depth, tasks keep pool order
    tail = ranking[10:]
    assert tail == sorted(tail)
    assert rank_pool(get_strategy("random"), pool, seed=3, depth=10) == ranking
