"""Fixtures of the vLLM tests (`make test-vllm`, in the vLLM virtual environment)."""
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A tiny model vLLM's CPU attention accepts (head size 64) and two random LoRA adapters."""
    from tests.training_vllm.greedy_agreement import random_lora
    from training.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("vllm")
    base = build_tiny_model(root / "tiny", hidden_size=128, num_attention_heads=2)
    return base, random_lora(base, root / "lora-a", 1), random_lora(base, root / "lora-b", 2)


@pytest.fixture(scope="session")
def hf_engine(tiny):
    from training import get_engine

    return get_engine("transformers", model=tiny[0], dtype="float32")
