import json
import threading
import time

import pytest
import torch

from training import models
from training.models import load_model_and_tokenizer, resolve_model_path
from training.tiny import build_tiny_model

pytestmark = pytest.mark.unit


def test_other_names_pass_through_unchanged():
    assert resolve_model_path("HuggingFaceTB/SmolLM2-360M-Instruct") == "HuggingFaceTB/SmolLM2-360M-Instruct"
    assert resolve_model_path("/models/local") == "/models/local"


def test_concurrent_first_use_converts_once(tmp_path, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(tmp_path))
    calls = []

    def slow_convert(gguf, target):
        calls.append(target)
        time.sleep(0.3)  # long enough for the second caller to arrive mid-conversion
        target.mkdir()
        (target / "config.json").write_text(json.dumps({"model_type": "llama"}))

    monkeypatch.setattr(models, "_convert_gguf", slow_convert)
    monkeypatch.setattr(models, "_smollm2_gguf", lambda: tmp_path / "fake.gguf")
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolve_model_path(None))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results[0] == results[1] == str(tmp_path / "models" / "smollm2-135m-instruct")


def test_tiny_model_is_deterministic_and_chat_ready(tmp_path):
    first = build_tiny_model(tmp_path / "a", seed=3)
    second = build_tiny_model(tmp_path / "b", seed=3)
    other = build_tiny_model(tmp_path / "c", seed=4)
    model_a, tok_a = load_model_and_tokenizer(first)
    model_b, tok_b = load_model_and_tokenizer(second)
    model_c, _ = load_model_and_tokenizer(other)
    ids = torch.tensor([tok_a("hello world")["input_ids"]])
    with torch.no_grad():
        logits_a, logits_b, logits_c = (m(ids).logits for m in (model_a, model_b, model_c))
    assert torch.equal(logits_a, logits_b)
    assert not torch.allclose(logits_a, logits_c)
    assert tok_a.get_vocab() == tok_b.get_vocab()
    assert 250 <= len(tok_a) <= 320
    assert model_a.config.num_hidden_layers == 2 and model_a.config.hidden_size == 64
    chat = tok_a.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert chat.endswith("<|im_start|>assistant\n")
