"""NSP, MTE, HUDS on hand-built generations, and the shared feature pass."""
import numpy as np
import pytest
from conftest import gen

from strategies import get_strategy
from strategies.huds import huds_scores, min_max
from training.example import Example

pytestmark = pytest.mark.unit

POOL = [Example(id=100 + i, input=f"prompt {i}") for i in range(4)]


def _engine(factory):
    return factory(
        greedy={
            "prompt 0": gen("a b", [-0.1, -0.1], [0.2, 0.2]),
            "prompt 1": gen("c d e", [-2.0, -1.5, -2.5], [0.5, 0.5, 0.5]),  # least probable
            "prompt 2": gen("f", [-0.5], [3.0]),  # most spread next-token distribution
            "prompt 3": gen("g h", [-0.01, -0.02], [0.1, 0.1]),
        }
    )


def test_nsp_picks_the_least_probable_generation(engine_factory):
    engine = _engine(engine_factory)
    assert get_strategy("nsp").select(POOL, 1, model=engine) == [101]
    scores = get_strategy("nsp").score(POOL, model=engine)
    assert scores[101] == pytest.approx(1 - np.exp(-2.0))


def test_mte_picks_the_highest_mean_entropy(engine_factory):
    engine = _engine(engine_factory)
    assert get_strategy("mte").select(POOL, 2, model=engine) == [102, 101]


def test_strategies_share_one_batched_generation_pass(engine_factory):
    engine = _engine(engine_factory)
    get_strategy("nsp").select(POOL, 2, model=engine)
    get_strategy("mte").select(POOL, 2, model=engine)
    get_strategy("huds").select(POOL, 2, model=engine)
    greedy_calls = [c for c in engine.generate_calls if c[2] == 0]
    assert len(greedy_calls) == 1 and len(greedy_calls[0][0]) == len(POOL)


def test_new_engine_version_recomputes_generations(engine_factory):
    engine = _engine(engine_factory)
    get_strategy("nsp").select(POOL, 1, model=engine)
    engine.version = "v2"
    get_strategy("nsp").select(POOL, 1, model=engine)
    assert len(engine.generate_calls) == 2


def test_min_max_maps_constant_to_zero():
    assert min_max(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]
    assert min_max(np.array([1.0, 3.0, 2.0])).tolist() == [0.0, 1.0, 0.5]


def test_huds_with_equal_uncertainty_prefers_the_atypical_input():
    embeddings = np.array([[1, 0], [1, 0.05], [0.99, -0.05], [0, 1]], dtype=float)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    scores = huds_scores(np.ones(4), embeddings)
    assert int(np.argmax(scores)) == 3


def test_huds_mixes_normalised_terms_with_lambda():
    embeddings = np.eye(3)[[0, 0, 1, 1]].astype(float)
    uncertainty = np.array([0.0, 5.0, 0.1, 4.9])
    only_uncertainty = huds_scores(uncertainty, embeddings, lam=0.0)
    assert only_uncertainty.tolist() == pytest.approx(min_max(uncertainty).tolist())
    # Half-half: each term contributes at most 0.5 whatever its raw scale.
    mixed = huds_scores(uncertainty, embeddings, lam=0.5)
    assert mixed.max() <= 1.0 and mixed.min() >= 0.0


def test_huds_diversity_is_measured_within_each_stratum():
    # Stratum "low": three identical inputs + one outlier; stratum "high": two inputs.
    embeddings = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6]], dtype=float)
    uncertainty = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    scores = huds_scores(uncertainty, embeddings, n_strata=2, lam=1.0)
    assert int(np.argmax(scores[:4])) == 3
    assert scores[4] == pytest.approx(scores[5])
