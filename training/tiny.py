"""A tiny random-init causal LM for fast plumbing tests.

``build_tiny_model(path)`` writes a 2-layer Llama (hidden 64) and a byte-level BPE tokenizer
trained on the spot (vocab ~300) with a ChatML-style chat template, so every code path a real
model takes (chat formatting, LoRA, saving, generation) runs in well under a second. It says
nothing about quality.
"""
from __future__ import annotations

from pathlib import Path

import torch

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# A small corpus so the BPE merges cover common English sub-words and digits.
_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of France? The capital of France is Paris.",
    "Translate to German: good morning. Guten Morgen.",
    "Summarize the following text in one sentence.",
    "Question: how many legs does a spider have? Answer: eight.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 42 100 2024 plus minus equals",
    "user assistant system You are a helpful assistant.",
]


def _train_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_model(
    path: str | Path, *, seed: int = 0, vocab_size: int = 300, hidden_size: int = 64, num_attention_heads: int = 4
) -> str:
    """Write a random-init tiny Llama + tokenizer to ``path`` and return ``str(path)``.

    Deterministic for a given ``seed``: two calls produce identical weights and vocabularies.
    vLLM's CPU attention wants a common head size (64): use ``hidden_size=128, num_attention_heads=2``.
    """
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    path = Path(path)
    tokenizer = _train_tokenizer(vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=max(1, num_attention_heads // 2),
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        # Wider than the usual 0.02 so the random model has peaked, varied next-token
        # distributions: greedy outputs then differ between prompts, as a real model's do.
        initializer_range=0.3,
    )
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    finally:
        # Building a test fixture must not shift the caller's random stream.
        torch.random.set_rng_state(generator_state)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)
