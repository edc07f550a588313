"""What the vLLM tests share: a tiny model with random LoRA adapters, and the check that an
engine's greedy tokens and log-probabilities agree with the transformers engine in fp32."""
import numpy as np
import torch

PROMPTS = ["hello there", "What is the capital of France?", "x", "Translate to German: good morning", "2+2?"]


def random_lora(base: str, folder, seed: int) -> str:
    """A LoRA adapter with random (non-zero) A and B, so it visibly changes the model's output."""
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


def assert_same_greedy(engine, hf_engine, max_new_tokens=12):
    """Same greedy tokens, texts and log-probs (atol 2e-3); returns the engine's token ids."""
    ours = engine.generate(PROMPTS, max_new_tokens=max_new_tokens)
    theirs = hf_engine.generate(PROMPTS, max_new_tokens=max_new_tokens)
    for a, b in zip(ours, theirs, strict=True):
        assert a[0].token_ids == b[0].token_ids
        assert a[0].text == b[0].text
        np.testing.assert_allclose(a[0].token_logprobs, b[0].token_logprobs, atol=2e-3)
        # top-k entropy is an upper bound of the exact one
        assert all(x >= y - 2e-3 for x, y in zip(a[0].token_entropies, b[0].token_entropies, strict=True))
    return [g[0].token_ids for g in ours]
