"""The inference-engine contract shared by strategies, labellers and the backend.

An engine turns prompts into generations that carry, per generated token, the
log-probability of the chosen token and the entropy of the full next-token distribution:
what NSP, MTE, TE-delfy, HUDS and BLEUVar need. ``get_engine`` builds one by kind.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Generation:
    """One generated continuation of one prompt."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    token_logprobs: list[float] = field(default_factory=list)
    token_entropies: list[float] = field(default_factory=list)

    @property
    def sequence_logprob(self) -> float:
        return float(sum(self.token_logprobs))

    @property
    def mean_logprob(self) -> float:
        """Length-normalised log-probability (0.0 for an empty generation)."""
        if not self.token_logprobs:
            return 0.0
        return self.sequence_logprob / len(self.token_logprobs)

    @property
    def normalized_probability(self) -> float:
        """exp(mean token log-prob): the NSP confidence of Ueffing & Ney (2007)."""
        return math.exp(self.mean_logprob)

    @property
    def mean_entropy(self) -> float:
        if not self.token_entropies:
            return 0.0
        return float(np.mean(self.token_entropies))


def check_sampling(n: int, temperature: float) -> None:
    """The arguments every engine's ``generate`` refuses alike."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")


@runtime_checkable
class Engine(Protocol):
    """What every inference engine offers.

    ``generate`` returns, for each prompt in order, a list of ``n`` generations.
    ``temperature=0`` means greedy decoding. Prompts are task inputs; the engine applies
    the model's chat template and system prompt the same way training does.
    ``embed`` returns an ``(len(texts), dim)`` float32 array of L2-normalised embeddings.
    """

    version: str

    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 64,
    ) -> list[list[Generation]]: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


ENGINE_KINDS = ("transformers", "vllm", "openai_compatible")


def get_engine(kind: str = "transformers", model: str | None = None, adapter: str | None = None, **opts) -> Engine:
    """Build an inference engine.

    ``kind``: ``transformers`` (default, CPU and GPU), ``vllm`` (LoRA adapters hot-loaded
    per version) or ``openai_compatible`` (a vLLM/SGLang server at ``base_url``). ``model`` is a Hugging Face name or local path (default: the packaged
    SmolLM2-135M-Instruct); ``adapter`` a saved PEFT adapter folder.
    """
    if kind == "transformers":
        from training.transformers_engine import TransformersEngine

        return TransformersEngine(model=model, adapter=adapter, **opts)
    if kind == "vllm":
        from training.vllm_engine import VLLMEngine

        return VLLMEngine(model=model, adapter=adapter, **opts)
    if kind == "openai_compatible":
        from training.http_engine import OpenAICompatibleEngine

        if "base_url" not in opts:
            raise ValueError("the openai_compatible engine needs base_url, e.g. http://gpu-box:8000/v1")
        return OpenAICompatibleEngine(model=model, adapter=adapter, **opts)
    raise ValueError(f"unknown engine kind {kind!r}; valid kinds: {', '.join(ENGINE_KINDS)}")
