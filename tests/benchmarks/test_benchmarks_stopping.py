import pytest

from benchmarks.stopping import StoppingCriteria

pytestmark = pytest.mark.unit


def _reason(criteria, **state):
    defaults = dict(iteration=0, labels=50, spent=0.0, metric=0.1, pool_left=100)
    return criteria.reason_to_stop(**{**defaults, **state})


def test_each_criterion_stops_the_run_with_a_readable_reason():
    assert "3 iterations" in _reason(StoppingCriteria(max_iterations=3), iteration=3)
    assert "label budget 200" in _reason(StoppingCriteria(max_labels=200), labels=200)
    assert "money budget $1" in _reason(StoppingCriteria(money_budget=1.0), spent=1.2)
    assert "target metric 0.5" in _reason(StoppingCriteria(target_metric=0.5), metric=0.51)
    assert _reason(StoppingCriteria(max_labels=400), pool_left=0) == "pool exhausted"


def test_run_continues_while_no_limit_is_hit():
    criteria = StoppingCriteria(max_iterations=3, max_labels=400, money_budget=1.0, target_metric=0.9)
    assert _reason(criteria, iteration=2, labels=150, spent=0.5, metric=0.4) is None


def test_last_batch_is_cut_to_the_label_budget_and_the_pool():
    criteria = StoppingCriteria(max_labels=120)
    assert criteria.next_batch_size(50, labels=100, pool_left=500) == 20
    assert criteria.next_batch_size(50, labels=50, pool_left=10) == 10


def test_a_run_without_any_limit_is_refused():
    with pytest.raises(ValueError, match="at least one stopping criterion"):
        StoppingCriteria()
