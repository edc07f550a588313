"""The default inference engine: Hugging Face transformers (+ PEFT adapters), CPU or GPU.

Pool scoring is the hot path of every AL round, so prompts are sorted by length and generated
in batches with left padding and the KV cache; each adapter version is loaded once and kept,
so switching versions is a pointer swap (PEFT multi-adapter).
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from training.embeddings import get_embedder
from training.engine import Generation, check_sampling
from training.models import load_model_and_tokenizer, takes_logits_to_keep
from training.prompts import FewShot, PromptFormatting, encode_prompt
from training.versions import BASE_VERSION, AdapterVersions

logger = logging.getLogger(__name__)

def token_logprobs_and_entropies(logits: torch.Tensor, token_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position log-probability of ``token_ids`` and entropy (nats) of the distribution.

    ``logits``: ``(..., vocab)`` raw model logits; ``token_ids``: ``(...)``. Computed in float32
    from the model's own distribution, before any temperature or top-k/top-p warping, so that
    uncertainty scores do not depend on the decoding settings.
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    chosen = logp.gather(-1, token_ids.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp.exp() * logp).sum(-1)
    return chosen, entropy


class TransformersEngine(PromptFormatting, AdapterVersions):
    """``Engine`` implementation on transformers ``generate``.

    Every generated token carries its log-probability and the entropy of the full next-token
    distribution, both from the raw logits (see ``token_logprobs_and_entropies``). Generations
    stop at EOS; the EOS token itself is not part of ``token_ids``/``text``.
    ``embed`` uses the sentence-embedding model (``training.embeddings``); ``hidden_states``
    mean-pools the acquisition model's last hidden layer.
    """

    def __init__(
        self,
        model: str | None = None,
        adapter: str | Path | None = None,
        *,
        system_prompt: str | None = None,
        few_shot: FewShot = (),
        device: str | None = None,
        dtype: torch.dtype | str | None = None,
        batch_size: int = 16,
        embedding_model: str | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model_name = model
        self.system_prompt = system_prompt
        self.few_shot = tuple(few_shot)
        self.batch_size = batch_size
        self.embedding_model = embedding_model
        self._base, self.tokenizer = load_model_and_tokenizer(model, dtype=dtype, device=device)
        self.device = self._base.device
        self._peft = None  # a PeftModel wrapping _base once the first adapter is loaded
        self._start_versions(adapter)

    # ----- adapters -------------------------------------------------------------------------
    def _load_adapter(self, path: str | Path, version: str) -> str:
        """Load the adapter into the PEFT model; returns its PEFT adapter name."""
        # PEFT adapter names become module keys, which may not contain dots: use a slot name.
        slot = f"version_{len(self._adapters)}"
        # The adapter takes the base model's dtype: PEFT would keep a float32 copy beside a bf16
        # base and cast every activation twice per layer (14% slower greedy decoding on CPU).
        if self._peft is None:
            from peft import PeftModel

            self._peft = PeftModel.from_pretrained(self._base, str(path), adapter_name=slot, autocast_adapter_dtype=False)
            self._peft.eval()
        else:
            self._peft.load_adapter(str(path), adapter_name=slot, autocast_adapter_dtype=False)
        logger.info("loaded adapter %s from %s", version, path)
        return slot

    def _activate(self, version: str) -> None:
        # The base model is served by disabling the adapter per call (``_forward_context``).
        if version != BASE_VERSION:
            self._peft.set_adapter(self._adapters[version])

    def _active_model(self):
        return self._base if self._peft is None else self._peft

    def _forward_context(self):
        if self._peft is not None and self.version == BASE_VERSION:
            return self._peft.disable_adapter()
        return torch.no_grad()

    # ----- generation -----------------------------------------------------------------------
    def _left_padded(self, sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, seq in enumerate(sequences):
            ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
            mask[row, width - len(seq) :] = 1
        return ids.to(self.device), mask.to(self.device)

    def _greedy_config(self, max_new_tokens: int):
        from transformers import GenerationConfig

        # A fresh config: a checkpoint's own defaults (top_p, repetition penalty) must not leak in.
        return GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=self.tokenizer.eos_token_id,
            pad_token_id=self.tokenizer.pad_token_id,
            return_dict_in_generate=True,
            output_logits=True,
        )

    def _generation(self, tokens: list[int], logprobs: list[float], entropies: list[float]) -> Generation:
        return Generation(
            text=self.tokenizer.decode(tokens, skip_special_tokens=True).strip(),
            token_ids=tokens,
            token_logprobs=logprobs,
            token_entropies=entropies,
        )

    def _greedy_batch(self, prompt_ids: list[list[int]], max_new_tokens: int) -> list[Generation]:
        ids, mask = self._left_padded(prompt_ids)
        with self._forward_context(), torch.no_grad():
            out = self._active_model().generate(
                input_ids=ids, attention_mask=mask, generation_config=self._greedy_config(max_new_tokens)
            )
        new_tokens = out.sequences[:, ids.shape[1] :]
        steps = len(out.logits)
        logprobs = torch.empty(new_tokens.shape[0], steps)
        entropies = torch.empty(new_tokens.shape[0], steps)
        for step, step_logits in enumerate(out.logits):  # per step keeps memory at (rows, vocab)
            chosen, entropy = token_logprobs_and_entropies(step_logits, new_tokens[:, step])
            logprobs[:, step], entropies[:, step] = chosen.cpu(), entropy.cpu()
        generations = []
        eos = self.tokenizer.eos_token_id
        for row in range(new_tokens.shape[0]):
            tokens = new_tokens[row].tolist()
            length = tokens.index(eos) if eos in tokens else len(tokens)
            generations.append(
                self._generation(tokens[:length], logprobs[row, :length].tolist(), entropies[row, :length].tolist())
            )
        return generations

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache=None):
        """Next-token logits (float32, last position only) and the KV cache after ``ids``."""
        model = self._active_model()
        keep = {"logits_to_keep": 1} if takes_logits_to_keep(model) else {}
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True, **keep)
        return out.logits[:, -1].float(), out.cache

    def _sample_batch(
        self, prompt_ids: list[list[int]], n: int, temperature: float, max_new_tokens: int
    ) -> list[Generation]:
        """``n`` samples per prompt (ancestral sampling from ``softmax(logits / temperature)``).

        ``generate(num_return_sequences=n)`` would copy each prompt n times before the prefill
        and decode every row until the longest sample ends. Here each prompt is prefilled once
        and its KV cache repeated n times, and a sample leaves the batch at its EOS. Sampling
        the short answers of a trained adapter (2 tokens on average, but one of 160 rows often
        runs to the token limit) is then several times faster (benchmarks/sampling_throughput.py).
        Rows are returned prompt by prompt, n each.
        """
        ids, mask = self._left_padded(prompt_ids)
        # Positions follow the mask, as generate's: left padding does not shift a prompt.
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        rows = len(prompt_ids) * n
        tokens: list[list[int]] = [[] for _ in range(rows)]
        logprobs: list[list[float]] = [[] for _ in range(rows)]
        entropies: list[list[float]] = [[] for _ in range(rows)]
        eos = self.tokenizer.eos_token_id
        with self._forward_context(), torch.no_grad():
            logits, cache = self._forward(ids, mask, positions)
            logits = logits.repeat_interleave(n, dim=0)
            cache.batch_repeat_interleave(n)
            mask = mask.repeat_interleave(n, dim=0)
            next_position = positions[:, -1:].repeat_interleave(n, dim=0) + 1
            live = torch.arange(rows)  # which sample each row of the batch is
            for step in range(max_new_tokens):
                probs = torch.softmax(logits / temperature, dim=-1)
                drawn = torch.multinomial(probs, 1).squeeze(1)
                chosen, entropy = token_logprobs_and_entropies(logits, drawn)
                going = drawn != eos
                for row, token, logprob, ent, goes in zip(
                    live.tolist(), drawn.tolist(), chosen.tolist(), entropy.tolist(), going.tolist(), strict=True
                ):
                    if goes:
                        tokens[row].append(token)
                        logprobs[row].append(logprob)
                        entropies[row].append(ent)
                if step == max_new_tokens - 1 or not going.any():
                    break
                if not going.all():  # finished samples leave the batch
                    keep = going.nonzero().squeeze(1)
                    cache.batch_select_indices(keep)
                    live = live[keep.cpu()]
                    drawn, mask, next_position = drawn[keep], mask[keep], next_position[keep]
                mask = torch.cat([mask, mask.new_ones(len(live), 1)], dim=1)
                logits, cache = self._forward(drawn.unsqueeze(1), mask, next_position, cache)
                next_position = next_position + 1
        return [self._generation(*sample) for sample in zip(tokens, logprobs, entropies, strict=True)]

    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 64,
        *,
        seed: int | None = None,
    ) -> list[list[Generation]]:
        """For each prompt (a task input), ``n`` generations; ``temperature=0`` is greedy.

        Greedy decoding is deterministic, so ``n`` greedy generations are copies of one.
        Sampling draws from the temperature-scaled full distribution (no top-k/top-p);
        ``seed`` makes it repeatable (it seeds torch's global generator once per call).
        """
        check_sampling(n, temperature)
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        prompts = list(prompts)
        if not prompts:
            return []
        if seed is not None:
            torch.manual_seed(seed)
        encoded = [encode_prompt(self.tokenizer, self.format(p)) for p in prompts]
        # Similar lengths in one batch waste less compute on padding.
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
        per_prompt = n if temperature > 0 else 1
        results: list[list[Generation]] = [[] for _ in prompts]
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for batch in tqdm(batches, desc="generate", unit="batch", disable=None if len(batches) > 1 else True):
            batch_ids = [encoded[i] for i in batch]
            if temperature > 0:
                generations = self._sample_batch(batch_ids, n, temperature, max_new_tokens)
            else:
                generations = self._greedy_batch(batch_ids, max_new_tokens)
            for pos, index in enumerate(batch):
                results[index] = generations[pos * per_prompt : (pos + 1) * per_prompt]
        if per_prompt < n:
            results = [[copy.deepcopy(g[0]) for _ in range(n)] for g in results]
        return results

    # ----- embeddings -----------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings (L2-normalised float32) from the embedding model."""
        return get_embedder(self.embedding_model).embed(texts)

    def hidden_states(self, texts: Sequence[str]) -> np.ndarray:
        """Acquisition-model embeddings: the last hidden layer mean-pooled over the text's tokens.

        The raw text is encoded without chat template, so a shared template prefix does not
        dominate the average. Returns L2-normalised float32 ``(len(texts), hidden_size)``.
        """
        texts = list(texts)
        rows = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            batch = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            with self._forward_context(), torch.no_grad():
                out = self._active_model()(**batch, output_hidden_states=True)
            hidden = out.hidden_states[-1].float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        if not rows:
            return np.zeros((0, self._base.config.hidden_size), dtype=np.float32)
        return np.concatenate(rows).astype(np.float32)
