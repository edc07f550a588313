import pytest

from training.example import Example
from training.prompts import encode_answer, encode_prompt, format_prompt
from training.tiny import build_tiny_model

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(build_tiny_model(tmp_path_factory.mktemp("tok") / "m"))


def test_chat_prompt_has_system_shots_input_and_assistant_header(tokenizer):
    text = format_prompt(tokenizer, "2+3?", "Answer with a number.", [("1+1?", "2"), Example(id=7, input="2+2?", output="4")])
    assert text == (
        "<|im_start|>system\nAnswer with a number.<|im_end|>\n"
        "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n"
        "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
        "<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n"
    )


def test_plain_prompt_without_chat_template(tokenizer):
    tokenizer = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    tokenizer.chat_template = None
    text = format_prompt(tokenizer, "2+3?", "Be brief.", [("1+1?", "2")])
    assert text == "Be brief.\n\nInput: 1+1?\nOutput: 2\n\nInput: 2+3?\nOutput:"
    assert tokenizer.decode(encode_answer(tokenizer, "5")) == " 5<|im_end|>"


def test_unlabeled_few_shot_example_is_rejected(tokenizer):
    with pytest.raises(ValueError, match="few-shot example 'u1' has no output"):
        format_prompt(tokenizer, "q", few_shot=[Example(id="u1", input="x")])


def test_prompt_and_answer_tokens_round_trip(tokenizer):
    prompt = format_prompt(tokenizer, "capital of France?")
    ids = encode_prompt(tokenizer, prompt) + encode_answer(tokenizer, "Paris")
    assert tokenizer.decode(ids) == prompt + "Paris<|im_end|>"
