"""Shared fixtures for training/ tests: offline hub, a tiny model built once per session."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

from training.tiny import build_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> str:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_path):
    from training.transformers_engine import TransformersEngine

    # float32 on any machine: the contract tests check exact equalities (batched = one by one,
    # scores = teacher forcing) that bf16 rounding breaks by design.
    return TransformersEngine(model=tiny_model_path, batch_size=4, dtype="float32")
