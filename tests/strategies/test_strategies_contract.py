"""The id contract every strategy keeps, and the registry's errors."""
import pytest

import strategies
from strategies import EmptyPoolError, StrategyError, get_strategy, get_strategy_with_length
from training.example import Example

pytestmark = pytest.mark.unit


def _pool(n):
    return [Example(id=f"task-{i}", input=f"question number {i}") for i in range(n)]


def test_unknown_strategy_lists_valid_names():
    with pytest.raises(StrategyError, match="available: .*nsp"):
        get_strategy("nope")


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(StrategyError, match="valid: lam"):
        get_strategy("idds", lamda=0.5)


def test_registry_holds_the_priority_strategies():
    assert {"random", "nsp", "mte", "idds", "facility_location", "huds"} <= set(strategies.available())


def test_empty_pool_raises_named_error():
    with pytest.raises(EmptyPoolError):
        get_strategy("random").select([], 3)


def test_pool_of_only_labeled_examples_is_empty():
    pool = _pool(3)
    with pytest.raises(EmptyPoolError):
        get_strategy("random").select(pool, 1, labeled=pool)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_rejected(k):
    with pytest.raises(StrategyError, match="k must be a positive integer"):
        get_strategy("random").select(_pool(3), k)


def test_k_larger_than_pool_returns_every_id_ranked():
    pool = _pool(4)
    ids = get_strategy("random").select(pool, 10, seed=3)
    assert sorted(ids) == sorted(ex.id for ex in pool)


def test_labeled_ids_in_the_pool_are_never_returned():
    pool = _pool(6)
    ids = get_strategy("random").select(pool, 6, labeled=pool[:2])
    assert set(ids) == {ex.id for ex in pool[2:]}


def test_duplicate_pool_ids_are_an_error():
    pool = [Example(id=1, input="a"), Example(id=1, input="b")]
    with pytest.raises(StrategyError, match="two examples with id 1"):
        get_strategy("random").select(pool, 1)


def test_model_based_strategy_without_model_says_what_is_missing():
    with pytest.raises(StrategyError, match="'nsp' needs a model"):
        get_strategy("nsp").select(_pool(2), 1)


def test_random_is_deterministic_per_seed_and_differs_across_seeds():
    pool = _pool(50)
    strategy = get_strategy("random")
    assert strategy.select(pool, 10, seed=1) == strategy.select(pool, 10, seed=1)
    assert strategy.select(pool, 10, seed=1) != strategy.select(pool, 10, seed=2)


def test_generation_length_reaches_generating_strategies_unless_set(engine_factory):
    for params, expected in (({}, 7), ({"max_new_tokens": 3}, 3)):
        engine = engine_factory()
        get_strategy_with_length("huds", params, 7).select(_pool(6), 2, model=engine)
        assert engine.generate_lengths and set(engine.generate_lengths) == {expected}
    # Strategies that never generate take the length silently.
    assert len(get_strategy_with_length("idds", {}, 7).select(_pool(6), 2, model=engine_factory())) == 2
    with pytest.raises(StrategyError, match="unknown strategy"):
        get_strategy_with_length("nope", {}, 7)
