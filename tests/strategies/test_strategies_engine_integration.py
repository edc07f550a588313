"""Every strategy on a tiny real model through the real transformers engine and embedder."""
import inspect

import pytest

import strategies
from strategies import get_strategy
from strategies.features import FEATURES
from training.engine import get_engine
from training.example import Example
from training.tiny import build_tiny_model

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "Translate to German: good morning.",
    "Summarize: the quick brown fox jumps over the lazy dog.",
    "What is 12 plus 42?",
    "Name a colour of the sky.",
    "Who wrote the play Hamlet?",
    "What is the boiling point of water in Celsius?",
]
# Short generations keep the test fast; every strategy that generates takes this parameter.
FAST = {"max_new_tokens": 6}
SAMPLING = {"n_samples": 3}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    FEATURES.clear()
    yield get_engine("transformers", model=build_tiny_model(tmp_path_factory.mktemp("tiny")), batch_size=8)
    FEATURES.clear()


def _params(name):
    accepted = inspect.signature(type(get_strategy(name))).parameters
    return {k: v for k, v in {**FAST, **SAMPLING}.items() if k in accepted}


@pytest.mark.parametrize("name", strategies.available())
def test_every_strategy_selects_distinct_unlabeled_ids_on_a_real_engine(engine, name):
    pool = [Example(id=1000 + i, input=q) for i, q in enumerate(QUESTIONS)]
    labeled = [Example(id=1, input="What is the capital of Spain?", output="Madrid")]
    strategy = get_strategy(name, **_params(name))
    ids = strategy.select(pool, 3, labeled=labeled, model=engine, seed=7)
    assert len(ids) == 3 and len(set(ids)) == 3
    assert set(ids) <= {ex.id for ex in pool}
    assert ids == strategy.select(pool, 3, labeled=labeled, model=engine, seed=7)


@pytest.mark.parametrize("name", [n for n in strategies.available() if not get_strategy(n).needs_model])
def test_design_strategies_run_without_a_model_on_the_packaged_embedder(name):
    pool = [Example(id=f"q{i}", input=q) for i, q in enumerate(QUESTIONS)]
    ids = get_strategy(name).select(pool, len(pool) + 5)
    assert sorted(ids) == sorted(ex.id for ex in pool)


def test_idds_with_real_embeddings_skips_paraphrases_of_labeled_tasks():
    labeled = [Example(id="l", input="What is the capital city of France?", output="Paris")]
    pool = [
        Example(id="paraphrase", input="Which city is the capital of France?"),
        Example(id="other1", input="How many legs does an insect have?"),
        Example(id="other2", input="How many legs does a spider have?"),
    ]
    assert get_strategy("idds").select(pool, 1, labeled=labeled) != ["paraphrase"]
