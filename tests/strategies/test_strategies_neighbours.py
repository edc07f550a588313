"""SIGnAL and HADAS on hand-built predictions."""
import numpy as np
import pytest
from conftest import gen

from strategies import StrategyError, get_strategy
from strategies.divergence import kl_divergence, output_divergence
from strategies.hadas import hadas_order, lexical_support
from strategies.signal import signal_scores
from training.example import Example

pytestmark = pytest.mark.unit


def test_kl_divergence_matches_hand_computation():
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    got = kl_divergence(p, np.array([0]), np.array([[1]]))
    assert got[0, 0] == pytest.approx(0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5))


def test_output_divergence_ignores_missing_neighbours():
    outputs = np.array([[1.0, 0.0], [0.0, 1.0]])
    got = output_divergence(outputs, np.array([0]), np.array([[1, -1]]))
    assert got.tolist() == [[1.0, 0.0]]


def test_signal_favours_disagreement_with_close_neighbours():
    divergence = np.array([[0.5], [0.5]])
    similarity = np.array([[0.9], [0.1]])  # same disagreement, but row 0's neighbour is close
    scores = signal_scores(divergence, similarity, np.ones((2, 1), dtype=bool))
    assert scores[0] == pytest.approx(5.0) and scores[1] == pytest.approx(0.5 / 0.9)


def test_signal_strategy_picks_the_point_whose_prediction_breaks_with_its_cluster(engine_factory):
    inputs = [f"cluster {i}" for i in range(6)]
    vectors = {t: np.array([1.0, 0.02 * i, 0, 0]) for i, t in enumerate(inputs[:5])}
    vectors["cluster 5"] = np.array([0, 0, 1.0, 0])  # an outlier input
    vectors.update({"same": np.array([0, 1.0, 0, 0]), "odd": np.array([0, 0, 0, 1.0])})
    greedy = {t: gen("same", [-1.0]) for t in inputs}
    greedy["cluster 2"] = gen("odd", [-1.0])
    greedy["cluster 5"] = gen("odd", [-1.0])
    engine = engine_factory(greedy=greedy, vectors=vectors, dim=4)
    pool = [Example(id=t, input=t) for t in inputs]
    assert get_strategy("signal", n_neighbors=2).select(pool, 1, model=engine) == ["cluster 2"]


def test_signal_uses_label_distributions_when_every_example_has_one(engine_factory):
    vectors = {f"t{i}": np.array([1.0, 0.01 * i]) for i in range(4)}
    probs = [[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.9, 0.1]]
    pool = [Example(id=i, input=f"t{i}", meta={"label_probs": p}) for i, p in enumerate(probs)]
    engine = engine_factory(vectors=vectors, dim=2)
    assert get_strategy("signal", n_neighbors=2).select(pool, 1, model=engine) == [2]
    assert not engine.generate_calls  # classification needs no generation


def test_lexical_support_counts_content_words_found_in_the_source():
    got = lexical_support(["The cat sat on the mat."], ["The cat sat on a hat."], embed=None)
    assert got[0] == pytest.approx(2 / 3)  # cat, sat supported; hat is not


def test_hadas_prefers_severe_hallucination_then_unseen_kinds():
    hallucination = np.array([[0.9, 0.9, 0.9], [0.1, 0.1, 0.1], [0.6, 0.0, 0.0], [0.0, 0.0, 0.6]])
    assert hadas_order(hallucination, np.zeros((0, 3)), 1, (1 / 3,) * 3)[0] == 0
    labeled = np.array([[0.6, 0.0, 0.0]])  # the labeled set already shows type-0 errors
    order = hadas_order(hallucination[2:], labeled, 2, (1 / 3,) * 3, lam=0.9)
    assert order[0] == 1


def test_hadas_strategy_selects_the_unfaithful_generation(engine_factory):
    sources = ["The river flows through the old town.", "Prices rose by five percent in March."]
    greedy = {
        sources[0]: gen("The river flows through the old town.", [-1.0]),
        sources[1]: gen("Aliens landed on the moon yesterday.", [-1.0]),
    }
    engine = engine_factory(greedy=greedy, dim=16)
    pool = [Example(id=i, input=s) for i, s in enumerate(sources)]
    assert get_strategy("hadas").select(pool, 1, model=engine) == [1]


def test_hadas_rejects_weights_that_do_not_match_components(engine_factory):
    strategy = get_strategy("hadas", weights=(0.5, 0.5))
    with pytest.raises(StrategyError, match="3 components but 2 weights"):
        strategy.select([Example(id=1, input="x")], 1, model=engine_factory())
