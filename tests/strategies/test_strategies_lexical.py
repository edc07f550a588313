"""TE-delfy and BLEUVar on hand-built inputs and samples."""
import numpy as np
import pytest
from conftest import gen

from strategies import get_strategy
from strategies.bleuvar import bleu_variance
from strategies.te_delfy import DelfyScorer, te_delfy_order
from strategies.text import stemmed_words
from training.example import Example

pytestmark = pytest.mark.unit


def test_stemmed_words_lowercase_and_stem():
    assert stemmed_words("Running RUNS, runner!") == ["run", "run", "runner"]


def test_delfy_prefers_frequent_words_and_decays_labeled_ones():
    pool = [["cat", "dog"], ["cat", "cat"], ["zebra"]]
    assert int(np.argmax(DelfyScorer(pool, []).scores())) == 1
    # Once "cat" is labeled, the sentence made only of "cat" loses its lead.
    assert int(np.argmax(DelfyScorer(pool, [["cat"]] * 3).scores())) != 1


def test_delfy_decays_words_of_selected_sentences():
    pool = [["apple", "pie"], ["apple", "pie"], ["plum", "tart"], ["plum", "jam"]]
    entropy = np.zeros(4)
    order = te_delfy_order(entropy, DelfyScorer([list(t) for t in pool], []), 2)
    # The second pick must not repeat the words of the first.
    assert set(pool[order[0]]).isdisjoint(pool[order[1]])


def test_te_delfy_combines_entropy_and_delfy_ranks():
    pool = [["a", "b"], ["c", "d"], ["a", "c"]]  # sentence 2 shares words with both others
    order = te_delfy_order(np.array([0.0, 0.0, 5.0]), DelfyScorer(pool, []), 1)
    assert order == [2]  # best on entropy and on delfy


def test_te_delfy_strategy_uses_generation_entropy(engine_factory):
    # Equal delfy (every input: one unique word + "apple"), so entropy decides the first pick.
    pool = [Example(id=i, input=t) for i, t in enumerate(["red apple", "green apple", "apple pie"])]
    engine = engine_factory(
        greedy={
            "red apple": gen("x", [-1.0], [0.1]),
            "green apple": gen("x", [-1.0], [0.1]),
            "apple pie": gen("x", [-1.0], [4.0]),
        }
    )
    ids = get_strategy("te_delfy").select(pool, 3, model=engine)
    assert ids[0] == 2 and sorted(ids) == [0, 1, 2]


def test_bleu_variance_is_zero_for_identical_samples_and_grows_with_disagreement():
    same = bleu_variance(["the cat sat on the mat"] * 4)
    mixed = bleu_variance(["the cat sat on the mat", "the cat sat on a mat", "dogs run fast", "blue sky today"])
    assert same == pytest.approx(0.0)
    assert 0.0 < mixed <= 1.0


def test_bleuvar_selects_the_input_whose_samples_disagree(engine_factory):
    pool = [Example(id="calm", input="q1"), Example(id="torn", input="q2")]
    engine = engine_factory(
        samples={"q1": ["paris is the capital"] * 10, "q2": [f"answer {i} maybe {i * 7}" for i in range(10)]}
    )
    strategy = get_strategy("bleuvar")
    assert strategy.select(pool, 1, model=engine) == ["torn"]
    sampled = [c for c in engine.generate_calls if c[2] > 0]
    assert len(sampled) == 1 and sampled[0][1] == 10  # one batched pass, N=10 samples each
