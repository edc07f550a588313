"""vLLM engine vs transformers engine in fp32: same greedy tokens and log-probs, with and without LoRA.

Runs in the vLLM virtual environment (`make test-vllm`); skipped where vllm is not installed.
"""
import pytest

pytest.importorskip("vllm")

from tests.training_vllm.greedy_agreement import PROMPTS, assert_same_greedy  # noqa: E402
from training import get_engine  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engines(tiny, hf_engine):
    vllm_engine = get_engine("vllm", model=tiny[0], max_model_len=256, max_lora_rank=8)
    return vllm_engine, hf_engine


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
