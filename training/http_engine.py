"""Engine on an OpenAI-compatible inference server a team already runs (``vllm serve``, SGLang).

The prompt is formatted and tokenized here, exactly as training does (``training.prompts``), and
sent as token ids to ``/v1/completions``: the server sees the same tokens a local engine would,
whatever chat template it was started with. Per-token log-probabilities come back with the top
``logprobs_k`` alternatives, from which the entropy is approximated as in the vLLM engine
(``topk_entropy``). vLLM's ``return_tokens_as_token_ids`` extension makes the returned tokens
exact ids; without it (``token_ids_extension=False``) tokens are strings and ``token_ids`` stays empty.

Adapter versions are LoRA adapters the server serves under a model name: those started with
``--lora-modules`` are used as they are, and ``load_adapter`` registers a new one through vLLM's
``/v1/load_lora_adapter`` (the server needs ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` and must
see the adapter's path). Requests for several prompts run concurrently, up to ``max_concurrency``.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from training.engine import Generation, check_sampling
from training.models import load_tokenizer
from training.prompts import FewShot, PromptFormatting, encode_prompt
from training.versions import BASE_VERSION, AdapterVersions
from training.vllm_engine import topk_entropy

logger = logging.getLogger(__name__)

_TOKEN_ID_PREFIX = "token_id:"


class InferenceServerError(RuntimeError):
    """The inference server refused a request or could not be reached; the message says which."""


class OpenAICompatibleEngine(PromptFormatting, AdapterVersions):
    """``Engine`` over HTTP; ``version`` is the served model name of the active adapter."""

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        adapter: str | Path | None = None,
        *,
        served_model: str | None = None,
        api_key: str = "EMPTY",
        system_prompt: str | None = None,
        few_shot: FewShot = (),
        logprobs_k: int = 20,
        token_ids_extension: bool = True,
        max_concurrency: int = 16,
        timeout: float = 300.0,
        embedding_model: str | None = None,
    ):
        """``base_url``: the server's OpenAI root, e.g. ``http://gpu-box:8000/v1``. ``model``: the
        tokenizer's model (name or folder; default the packaged SmolLM2), which must be the model
        the server runs. ``served_model``: the base model's name on the server (default: the first
        model ``/v1/models`` lists)."""
        import openai

        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.base_url = base_url.rstrip("/")
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key, timeout=timeout, max_retries=2)
        self.tokenizer = load_tokenizer(model)
        self.vocab_size = len(self.tokenizer)
        self.system_prompt = system_prompt
        self.few_shot = tuple(few_shot)
        self.logprobs_k = logprobs_k
        self.token_ids_extension = token_ids_extension
        self.max_concurrency = max_concurrency
        self.embedding_model = embedding_model
        self.served_model = served_model or self._served_models()[0]
        self._start_versions(adapter)

    def _request(self, what: str, call):
        import openai

        try:
            return call()
        except openai.APIStatusError as exc:
            raise InferenceServerError(f"{what}: {self.base_url} answered {exc.status_code}: {exc.message}") from exc
        except openai.APIConnectionError as exc:
            raise InferenceServerError(f"{what}: cannot reach the inference server at {self.base_url} ({exc})") from exc

    def _served_models(self) -> list[str]:
        models = [m.id for m in self._request("listing models", self.client.models.list).data]
        if not models:
            raise InferenceServerError(f"the inference server at {self.base_url} serves no model")
        return models

    # ----- adapters -------------------------------------------------------------------------
    def _load_adapter(self, path: str | Path, version: str) -> str:
        """Have the server load the adapter as ``version``, unless it already serves that name
        (``--lora-modules``); returns the model name requests use for it."""
        if version not in self._served_models():
            self._request(
                f"loading adapter {version!r} from {path}",
                lambda: self.client.post(
                    "/load_lora_adapter", body={"lora_name": version, "lora_path": str(path)}, cast_to=str
                ),
            )
            logger.info("server %s loaded adapter %s from %s", self.base_url, version, path)
        return version

    # ----- generation -----------------------------------------------------------------------
    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 64,
        *,
        seed: int | None = None,
    ) -> list[list[Generation]]:
        """Same contract as ``TransformersEngine.generate``: per prompt ``n`` generations, EOS excluded."""
        check_sampling(n, temperature)
        model = self.served_model if self.version == BASE_VERSION else self._adapters[self.version]
        extra = {"return_tokens_as_token_ids": True} if self.token_ids_extension else None

        def complete(prompt: str) -> list[Generation]:
            completion = self._request(
                f"generating with {model!r}",
                lambda: self.client.completions.create(
                    model=model, prompt=encode_prompt(self.tokenizer, self.format(prompt)), n=n,
                    temperature=temperature, max_tokens=max_new_tokens, logprobs=self.logprobs_k, seed=seed,
                    extra_body=extra,
                ),
            )
            return [self._to_generation(choice) for choice in sorted(completion.choices, key=lambda c: c.index)]

        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, max(len(prompts), 1))) as pool:
            return list(pool.map(complete, prompts))

    def _token_id(self, token: str) -> int | None:
        if self.token_ids_extension and token.startswith(_TOKEN_ID_PREFIX):
            return int(token[len(_TOKEN_ID_PREFIX):])
        return None

    def _is_eos(self, token: str) -> bool:
        token_id = self._token_id(token)
        if token_id is not None:
            return token_id == self.tokenizer.eos_token_id
        return token == self.tokenizer.eos_token

    def _to_generation(self, choice) -> Generation:
        logprobs = choice.logprobs
        tokens = list(logprobs.tokens or [])
        # Servers differ on whether the EOS that ended a generation is listed; it never counts.
        length = next((i for i, token in enumerate(tokens) if self._is_eos(token)), len(tokens))
        token_logprobs = [float(lp) for lp in logprobs.token_logprobs[:length]]
        entropies = [
            topk_entropy(sorted(top.values(), reverse=True)[: self.logprobs_k], self.vocab_size)
            for top in logprobs.top_logprobs[:length]
        ]
        ids = [self._token_id(token) for token in tokens[:length]]
        token_ids = [] if None in ids else ids
        text = self.tokenizer.decode(token_ids, skip_special_tokens=True).strip() if token_ids else choice.text.strip()
        return Generation(text=text, token_ids=token_ids, token_logprobs=token_logprobs, token_entropies=entropies)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from training.embeddings import get_embedder

        return get_embedder(self.embedding_model).embed(texts)

    def hidden_states(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError("an inference server does not expose hidden states; use the transformers engine")
