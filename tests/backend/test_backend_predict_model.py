"""/predict computes missing predictions with a real (tiny) model and caches them."""
import pytest

import label_studio_templates
from backend.app import create_app
from backend.settings import ServiceSettings
from training.tiny import build_tiny_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_predict_generates_for_uncached_tasks_and_caches_them(tmp_path, conn, tiny_model):
    service = ServiceSettings(model_dir=tmp_path / "models", state_dir=tmp_path, queue_name="atgen-test")
    client = create_app(service, conn).test_client()
    client.post("/setup", json={"project": "3.1", "schema": label_studio_templates.load_template("question_answering"),
                                "extra_params": {"model_name": tiny_model, "strategy": "random",
                                                 "ed_strategy": "random", "max_new_tokens": 5}})
    tasks = [{"id": 11, "data": {"question": "What is 2 plus 2?"}}, {"id": 12, "data": {"nothing": "here"}},
             {"id": 13, "data": {"question": "x" * 20_000}}]
    first = client.post("/predict", json={"project": "3.1", "tasks": tasks}).get_json()
    assert len(first["results"]) == 3
    generated, missing, oversized = first["results"]
    assert generated["model_version"] == "atgen-base"
    assert isinstance(generated["result"][0]["value"]["text"][0], str)
    assert generated["result"][0]["from_name"] == "answer" and generated["result"][0]["to_name"] == "question"
    assert missing["result"] == []  # no 'question' field: empty result, not a 500
    assert oversized["result"]  # truncated to max_input_chars, still answered
    # Served from the cache the second time: identical text, same version.
    again = client.post("/predict", json={"project": "3.1", "tasks": tasks[:1]}).get_json()
    assert again["results"][0] == generated
    assert conn.hexists("atgen:p:3:predictions:atgen-base", "11")


def test_predict_goes_through_the_inference_server_with_engine_openai_compatible(tmp_path, conn, tiny_model, httpserver):
    from tests.training.fake_inference_server import FakeVLLM
    from training.models import load_tokenizer
    from training.prompts import encode_prompt, format_prompt

    tokenizer = load_tokenizer(tiny_model)
    server = FakeVLLM(httpserver, tokenizer)
    service = ServiceSettings(model_dir=tmp_path / "models", state_dir=tmp_path, queue_name="atgen-test",
                              engine="openai_compatible", engine_url=server.url)
    client = create_app(service, conn).test_client()
    client.post("/setup", json={"project": "4.1", "schema": label_studio_templates.load_template("question_answering"),
                                "extra_params": {"model_name": tiny_model, "max_new_tokens": 7}})
    result = client.post("/predict", json={"project": "4.1", "tasks": [{"id": 1, "data": {"question": "2+2?"}}]}).get_json()
    assert result["results"][0]["result"][0]["value"]["text"] == [tokenizer.decode([5, 6], skip_special_tokens=True).strip()]
    [request] = server.completions
    assert request["prompt"] == encode_prompt(tokenizer, format_prompt(tokenizer, "2+2?")) and request["max_tokens"] == 7
