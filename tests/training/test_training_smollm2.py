"""The packaged SmolLM2-135M-Instruct: the engine contract and a LoRA round that helps.

Sized for a 2-core CPU: 32 training examples of ~25 tokens, one epoch of 4 steps.
"""
import random

import numpy as np
import pytest
import torch

from training import metrics
from training.example import Example
from training.lora import TrainConfig, train_adapter
from training.prompts import encode_prompt
from training.transformers_engine import TransformersEngine

pytestmark = pytest.mark.integration

SYSTEM = "Add the numbers."


def addition_examples() -> list[Example]:
    pairs = [(a, b) for a in range(1, 10) for b in range(1, 10)]
    random.Random(0).shuffle(pairs)
    return [Example(id=f"{a}+{b}", input=f"{a} + {b} =", output=str(a + b)) for a, b in pairs]


@pytest.fixture(scope="module")
def engine():
    # float32: batch invariance and forward-pass equality are exact only without bf16 rounding.
    return TransformersEngine(system_prompt=SYSTEM, batch_size=16, dtype="float32")


def test_smollm2_greedy_is_batch_invariant_and_logprobs_match_a_forward_pass(engine):
    prompts = ["What is the capital of France?", "Name a colour.", "2 + 2 ="]
    batched = engine.generate(prompts, max_new_tokens=6)
    single = [engine.generate([p], max_new_tokens=6)[0] for p in prompts]
    assert [b[0].token_ids for b in batched] == [s[0].token_ids for s in single]
    assert "Paris" in batched[0][0].text
    generation = batched[0][0]
    prompt_ids = encode_prompt(engine.tokenizer, engine.format(prompts[0]))
    with torch.no_grad():
        logits = engine._active_model()(torch.tensor([prompt_ids + generation.token_ids])).logits[0]
    logp = torch.log_softmax(logits[len(prompt_ids) - 1 : -1], -1)
    expected = logp.gather(-1, torch.tensor(generation.token_ids)[:, None])[:, 0]
    np.testing.assert_allclose(generation.token_logprobs, expected.numpy(), atol=1e-3)
    samples = engine.generate(prompts[:1], n=3, temperature=1.0, max_new_tokens=6, seed=0)[0]
    assert len(samples) == 3 and all(s.token_logprobs for s in samples)


def test_lora_on_32_examples_improves_exact_match(engine, tmp_path):
    examples = addition_examples()
    train, test = examples[:32], examples[32:44]
    references = [e.output for e in test]

    def score() -> float:
        answers = [g[0].text for g in engine.generate([e.input for e in test], max_new_tokens=3)]
        return metrics.compute("relaxed_exact_match", answers, references)

    engine.use_version("base")
    before = score()
    config = TrainConfig(lr=3e-3, epochs=1, batch_size=8, eval_fraction=0.0, warmup_ratio=0.0)
    result = train_adapter(None, train, tmp_path / "v1", config=config, system_prompt=SYSTEM)
    engine.load_adapter(tmp_path / "v1", "v1")
    after = score()
    assert result.n_train == 32 and result.train_losses[-1] < result.train_losses[0]
    assert after >= before + 0.25, (before, after)
