"""vLLM engine vs transformers engine in fp32: same greedy tokens and log-probs, with and without LoRA.

Runs in the vLLM virtual environment (`make test-vllm`); skipped where vllm is not installed.
"""
import os

import pytest

pytest.importorskip("vllm")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from training import get_engine  # noqa: E402
from training.tiny import build_tiny_model  # noqa: E402

pytestmark = pytest.mark.integration

PROMPTS = ["hello there", "What is the capital of France?", "x", "Translate to German: good morning", "2+2?"]


def random_lora(base: str, folder, seed: int) -> str:
    from peft import LoraConfig, get_peft_model

    from training.models import load_model_and_tokenizer

    model, _ = load_model_and_tokenizer(base)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    peft_model.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("vllm")
    base = build_tiny_model(root / "tiny", hidden_size=128, num_attention_heads=2)
    return base, random_lora(base, root / "lora-a", 1), random_lora(base, root / "lora-b", 2)


@pytest.fixture(scope="module")
def engines(tiny):
    base, _, _ = tiny
    vllm_engine = get_engine("vllm", model=base, max_model_len=256, max_lora_rank=8)
    hf_engine = get_engine("transformers", model=base, dtype="float32")
    return vllm_engine, hf_engine


def assert_same_greedy(vllm_engine, hf_engine, max_new_tokens=12):
    ours = vllm_engine.generate(PROMPTS, max_new_tokens=max_new_tokens)
    theirs = hf_engine.generate(PROMPTS, max_new_tokens=max_new_tokens)
    for a, b in zip(ours, theirs, strict=True):
        assert a[0].token_ids == b[0].token_ids
        assert a[0].text == b[0].text
        np.testing.assert_allclose(a[0].token_logprobs, b[0].token_logprobs, atol=2e-3)
        # top-k entropy is an upper bound of the exact one
        assert all(x >= y - 2e-3 for x, y in zip(a[0].token_entropies, b[0].token_entropies, strict=True))
    return [g[0].token_ids for g in ours]


def test_greedy_tokens_and_logprobs_match_without_adapter(engines):
    vllm_engine, hf_engine = engines
    assert vllm_engine.version == hf_engine.version == "base"
    assert len({tuple(ids) for ids in assert_same_greedy(vllm_engine, hf_engine)}) > 1


def test_greedy_tokens_and_logprobs_match_with_lora_versions(engines, tiny):
    vllm_engine, hf_engine = engines
    _, lora_a, lora_b = tiny
    results = {}
    for version, path in (("v1", lora_a), ("v2", lora_b)):
        vllm_engine.load_adapter(path, version)
        hf_engine.load_adapter(path, version)
        results[version] = assert_same_greedy(vllm_engine, hf_engine)
    vllm_engine.use_version("base")
    hf_engine.use_version("base")
    results["base"] = assert_same_greedy(vllm_engine, hf_engine)
    assert results["v1"] != results["base"] and results["v2"] != results["v1"]
    vllm_engine.use_version("v1")
    assert [g[0].token_ids for g in vllm_engine.generate(PROMPTS, max_new_tokens=12)] == results["v1"]


def test_n_samples_per_prompt(engines):
    vllm_engine, _ = engines
    samples = vllm_engine.generate(PROMPTS[:2], n=4, temperature=1.0, max_new_tokens=8, seed=3)
    assert [len(s) for s in samples] == [4, 4]
    assert len({tuple(g.token_ids) for g in samples[0]}) > 1
    assert all(len(g.token_ids) == len(g.token_logprobs) == len(g.token_entropies) for g in samples[0])
