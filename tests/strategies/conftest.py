"""Shared fixtures for strategy tests: a hand-built engine whose outputs the test chooses."""
from __future__ import annotations

import os
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from strategies.features import FEATURES  # noqa: E402
from training.engine import Generation  # noqa: E402


class HandBuiltEngine:
    """Follows the Engine protocol with outputs fixed by the test.

    ``greedy[prompt]`` is the greedy Generation; ``samples[prompt]`` the texts returned when
    sampling; ``vectors[text]`` an embedding (texts without one get a seeded random vector).
    Every call is recorded so tests can check batching.
    """

    def __init__(self, greedy=None, samples=None, vectors=None, version="v1", dim=8):
        self.greedy = greedy or {}
        self.samples = samples or {}
        self.vectors = vectors or {}
        self.version = version
        self.dim = dim
        self.generate_calls: list[tuple[list[str], int, float]] = []
        self.generate_lengths: list[int] = []
        self.embed_calls: list[list[str]] = []

    def generate(self, prompts: Sequence[str], n=1, temperature=0.0, max_new_tokens=64):
        self.generate_calls.append((list(prompts), n, temperature))
        self.generate_lengths.append(max_new_tokens)
        if temperature == 0:
            return [[self.greedy.get(p, Generation(text=f"out:{p}", token_logprobs=[-1.0], token_entropies=[1.0]))] * n
                    for p in prompts]
        return [[Generation(text=t) for t in self.samples.get(p, [f"out:{p}"] * n)][:n] for p in prompts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embed_calls.append(list(texts))
        rows = []
        for t in texts:
            if t in self.vectors:
                v = np.asarray(self.vectors[t], dtype=np.float32)
            else:
                v = np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


@pytest.fixture
def engine_factory():
    FEATURES.clear()
    yield HandBuiltEngine
    FEATURES.clear()


def gen(text: str, logprobs: list[float], entropies: list[float] | None = None) -> Generation:
    return Generation(text=text, token_logprobs=logprobs, token_entropies=entropies or [0.0] * len(logprobs))
