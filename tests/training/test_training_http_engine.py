"""The OpenAI-compatible HTTP engine through the official SDK against a local server speaking
vLLM's wire format (``/v1/models``, ``/v1/completions`` with logprobs, ``/v1/load_lora_adapter``).

Agreement with a real vLLM server is checked in tests/training_vllm (``make test-vllm``).
"""
import pytest

from tests.training.fake_inference_server import LOGPROBS, FakeVLLM
from training import get_engine
from training.http_engine import InferenceServerError, OpenAICompatibleEngine
from training.prompts import encode_prompt
from training.vllm_engine import topk_entropy


@pytest.fixture
def server(httpserver, tiny_engine):
    return FakeVLLM(httpserver, tiny_engine.tokenizer)


def test_prompts_go_as_the_training_tokens_and_answers_drop_eos(server, tiny_model_path, tiny_engine):
    engine = get_engine("openai_compatible", model=tiny_model_path, base_url=server.url, logprobs_k=2)
    results = engine.generate(["What is 2+2?", "hello"], n=2, temperature=0.7, max_new_tokens=9, seed=3)

    sent = {tuple(body["prompt"]) for body in server.completions}
    assert sent == {tuple(encode_prompt(tiny_engine.tokenizer, tiny_engine.format(p))) for p in ["What is 2+2?", "hello"]}
    body = server.completions[0]
    assert (body["model"], body["n"], body["logprobs"], body["max_tokens"], body["seed"]) == ("base-model", 2, 2, 9, 3)
    assert body["return_tokens_as_token_ids"] is True
    assert [len(r) for r in results] == [2, 2]
    generation = results[0][0]
    assert generation.token_ids == [5, 6]
    assert generation.text == tiny_engine.tokenizer.decode([5, 6], skip_special_tokens=True).strip()
    assert generation.token_logprobs == pytest.approx(LOGPROBS[:2])
    assert generation.token_entropies == pytest.approx([topk_entropy([lp, lp - 1.5], engine.vocab_size) for lp in LOGPROBS[:2]])


def test_choices_keep_their_index_order(server, tiny_model_path):
    engine = OpenAICompatibleEngine(server.url, tiny_model_path, token_ids_extension=False)
    [generations] = engine.generate(["q"], n=3)
    assert [g.text for g in generations] == ["answer 0", "answer 1", "answer 2"]
    # Without vLLM's id extension tokens are strings: EOS is still recognised and dropped.
    assert generations[0].token_ids == [] and generations[0].token_logprobs == pytest.approx(LOGPROBS[:2])


def test_adapters_are_loaded_once_then_requested_by_version(server, tiny_model_path, tmp_path):
    engine = OpenAICompatibleEngine(server.url, tiny_model_path)
    engine.load_adapter(tmp_path / "v1", "atgen-v1")
    engine.load_adapter(tmp_path / "v1", "atgen-v1")
    assert server.loads == [{"lora_name": "atgen-v1", "lora_path": str(tmp_path / "v1")}]
    engine.generate(["q"])
    assert server.completions[-1]["model"] == "atgen-v1"
    engine.use_version("base")
    engine.generate(["q"])
    assert server.completions[-1]["model"] == "base-model"
    with pytest.raises(KeyError, match="atgen-v2"):
        engine.use_version("atgen-v2")


def test_server_errors_name_the_server_and_the_status(httpserver, tiny_model_path):
    httpserver.expect_request("/v1/models").respond_with_json({"object": "list", "data": [{"id": "m", "object": "model"}]})
    httpserver.expect_request("/v1/completions").respond_with_json({"error": {"message": "model overloaded"}}, status=400)
    engine = OpenAICompatibleEngine(httpserver.url_for("/v1"), tiny_model_path)
    with pytest.raises(InferenceServerError, match="answered 400.*model overloaded"):
        engine.generate(["q"])


def test_an_unreachable_server_is_named(tiny_model_path):
    with pytest.raises(InferenceServerError, match="cannot reach the inference server at http://127.0.0.1:9/v1"):
        OpenAICompatibleEngine("http://127.0.0.1:9/v1", tiny_model_path, timeout=2)


def test_the_engine_kind_needs_a_base_url(tiny_model_path):
    with pytest.raises(ValueError, match="needs base_url"):
        get_engine("openai_compatible", model=tiny_model_path)
