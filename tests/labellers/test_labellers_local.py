"""The local labeller on a real (tiny, random-init) model through training's inference engine."""
import pytest

from labellers import get_labeller
from labellers.errors import LabellerConfigError
from training.example import Example
from training.tiny import build_tiny_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("labellers-tiny") / "model")


def test_local_model_annotates_for_free_and_deterministically(tiny_model):
    lab = get_labeller("local", model=tiny_model, max_tokens=8, task="qa", batch_size=4)
    items = [Example(id=f"q{i}", input=f"What is {i} plus {i}?") for i in range(3)]
    first = lab.annotate(items)
    assert [a.example_id for a in first] == ["q0", "q1", "q2"]
    for a in first:
        assert a.cost == 0 and 0 < a.output_tokens <= 8
        assert a.ok == bool(a.text)  # an empty generation is flagged, never a label
    assert [a.text for a in lab.annotate(items)] == [a.text for a in first]  # greedy decoding
    assert lab.spent == 0 and not lab.is_out_of_budget and lab.budget is None
    assert lab.model_version == f"local:{tiny_model}"


def test_few_shot_examples_change_the_prompt(tiny_model):
    lab = get_labeller("local", model=tiny_model, max_tokens=4, n_shots=1)
    labeled = [Example(id="l1", input="What is 1 plus 1?", output="2")]
    lab.annotate([Example(id="q", input="What is 3 plus 3?")], labeled=labeled)
    assert "What is 1 plus 1?" in lab.engine.format("What is 3 plus 3?")


def test_shared_engine_cannot_take_few_shot(tiny_model):
    with pytest.raises(LabellerConfigError, match="few-shot"):
        get_labeller("local", engine=object(), n_shots=2)
