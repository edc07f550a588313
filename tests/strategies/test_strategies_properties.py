"""Property tests: every strategy keeps the id contract on arbitrary pools."""
import pytest
from conftest import HandBuiltEngine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strategies
from strategies import EmptyPoolError, get_strategy
from strategies.features import FEATURES
from training.example import Example

pytestmark = pytest.mark.unit

ids = st.one_of(st.integers(-50, 50), st.text("abc", min_size=1, max_size=3))
texts = st.text("ab cd.!", max_size=12)


@st.composite
def pools(draw):
    pool_ids = draw(st.lists(ids, min_size=1, max_size=10, unique=True))
    pool = [Example(id=i, input=draw(texts)) for i in pool_ids]
    labeled_ids = draw(st.lists(ids, max_size=4, unique=True))
    labeled = [Example(id=i, input=draw(texts), output="gold") for i in labeled_ids]
    return pool, labeled


PARAMS = {"bleuvar": {"n_samples": 3}, "dual": {"n_samples": 3}}


@pytest.mark.parametrize("name", strategies.available())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=pools(), k=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_select_returns_k_distinct_unlabeled_pool_ids(name, case, k, seed):
    pool, labeled = case
    FEATURES.clear()
    engine = HandBuiltEngine(dim=4)
    strategy = get_strategy(name, **PARAMS.get(name, {}))
    labeled_ids = {ex.id for ex in labeled}
    candidates = [ex.id for ex in pool if ex.id not in labeled_ids]
    if not candidates:
        with pytest.raises(EmptyPoolError):
            strategy.select(pool, k, labeled=labeled, model=engine, seed=seed)
        return
    chosen = strategy.select(pool, k, labeled=labeled, model=engine, seed=seed)
    assert len(chosen) == min(k, len(candidates))
    assert len(set(chosen)) == len(chosen)
    assert set(chosen) <= set(candidates)
    assert chosen == strategy.select(pool, k, labeled=labeled, model=engine, seed=seed)


@pytest.mark.parametrize("name", [n for n in strategies.available() if hasattr(get_strategy(n), "_score")])
@settings(max_examples=15, deadline=None)
@given(case=pools())
def test_scores_cover_exactly_the_unlabeled_pool_and_agree_with_select(name, case):
    pool, labeled = case
    FEATURES.clear()
    engine = HandBuiltEngine(dim=4)
    strategy = get_strategy(name, **PARAMS.get(name, {}))
    scores = strategy.score(pool, labeled=labeled, model=engine)
    labeled_ids = {ex.id for ex in labeled}
    assert set(scores) == {ex.id for ex in pool if ex.id not in labeled_ids}
    if scores:
        best = strategy.select(pool, 1, labeled=labeled, model=engine)[0]
        assert scores[best] == max(scores.values())
