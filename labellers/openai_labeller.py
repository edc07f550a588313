"""Labellers speaking the OpenAI API: ``openai`` (api.openai.com) and ``openai_compatible``
(vLLM, SGLang, hosted platforms at any ``base_url``).

Synchronous: Chat Completions with bounded concurrency. Batch: the Batch API (JSONL upload with
``purpose="batch"``, ``POST /v1/batches`` with a 24 h window, poll, download the output and error
files, map rows back by ``custom_id``), billed at half price.
"""
from __future__ import annotations

import io
import json
import os
from typing import Any

import openai

from labellers.base import ApiLabeller, ChatRequest, Reply
from labellers.errors import LabellerConfigError
from labellers.pricing import FREE, Price, PriceLike, resolve_price
from labellers.prompts import Message

_FINISHED = {"completed", "failed", "expired", "cancelled"}
# A key is required by the SDK even where the server ignores it.
_NO_KEY = "no-key"


class OpenAILabeller(ApiLabeller):
    """Annotates with an OpenAI chat model. Key: ``api_key`` or ``OPENAI_API_KEY``."""

    name = "openai"
    sdk = openai
    provider = "OpenAI"
    api_key_env = "OPENAI_API_KEY"
    # Reasoning models (o-series, gpt-5) refuse ``max_tokens``; OpenAI accepts this everywhere.
    max_tokens_field = "max_completion_tokens"

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None, **params: Any):
        super().__init__(model, **params)
        api_key = api_key or os.environ.get(self.api_key_env)
        if not api_key:
            raise LabellerConfigError(
                f"the {self.name} labeller needs an API key: pass api_key= or set {self.api_key_env}"
            )
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=self.timeout)

    def _body(self, messages: list[Message]) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            self.max_tokens_field: self.max_tokens,
        }

    def _complete(self, messages: list[Message]) -> Reply:
        completion = self.client.chat.completions.create(**self._body(messages))
        return reply_from_completion(completion.model_dump())

    def _submit_batch(self, requests: list[ChatRequest]) -> str:
        lines = "".join(
            json.dumps(
                {"custom_id": r.key, "method": "POST", "url": "/v1/chat/completions", "body": self._body(r.messages)}
            )
            + "\n"
            for r in requests
        )
        upload = self._call(
            lambda: self.client.files.create(file=("batch.jsonl", io.BytesIO(lines.encode())), purpose="batch")
        )
        batch = self._call(
            lambda: self.client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
        )
        return batch.id

    def _poll_batch(self, batch_id: str) -> tuple[bool, Any]:
        batch = self.client.batches.retrieve(batch_id)
        return batch.status in _FINISHED, batch

    def _collect_batch(self, batch: Any) -> tuple[dict[str, Reply | str], str]:
        # An expired or failed batch still delivers the rows that finished in its output file.
        results: dict[str, Reply | str] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = self._call(lambda file_id=file_id: self.client.files.content(file_id))
            for line in content.text.splitlines():
                if line.strip():
                    row = json.loads(line)
                    results[row["custom_id"]] = _batch_row(row)
        missing = f"batch {batch.status} before this request ran"
        if batch.errors and batch.errors.data:
            missing += ": " + "; ".join(str(e.message) for e in batch.errors.data)
        return results, missing


def _batch_row(row: dict) -> Reply | str:
    response, error = row.get("response"), row.get("error")
    if error:
        return f"{error.get('code', 'error')}: {error.get('message', '')}".strip()
    if not response or response.get("status_code") != 200:
        body = (response or {}).get("body") or {}
        message = (body.get("error") or {}).get("message", "no response")
        return f"HTTP {(response or {}).get('status_code')}: {message}"
    return reply_from_completion(response["body"])


def reply_from_completion(body: dict) -> Reply:
    """A :class:`Reply` from a chat completion body (dict form, as in batch output files)."""
    usage = body.get("usage") or {}
    tokens = {"input_tokens": usage.get("prompt_tokens") or 0, "output_tokens": usage.get("completion_tokens") or 0}
    choices = body.get("choices") or []
    if not choices:
        return Reply(None, error="malformed reply: no choices", **tokens)
    choice = choices[0]
    message = choice.get("message") or {}
    if message.get("refusal"):
        return Reply(None, error=f"refused: {message['refusal']}", **tokens)
    if choice.get("finish_reason") == "content_filter":
        return Reply(None, error="answer withheld by the provider's content filter", **tokens)
    return Reply(message.get("content"), **tokens)


class OpenAICompatibleLabeller(OpenAILabeller):
    """Any server speaking the OpenAI API (vLLM, SGLang, hosted platforms) at ``base_url``.

    The key is optional (self-hosted servers often need none). Price defaults to free; pass
    ``price=(usd_per_1M_input, usd_per_1M_output)`` for a paid platform.
    """

    name = "openai_compatible"
    provider = "OpenAI-compatible server"
    api_key_env = "OPENAI_COMPATIBLE_API_KEY"
    # vLLM and SGLang read ``max_tokens``; not all accept ``max_completion_tokens``.
    max_tokens_field = "max_tokens"

    def __init__(self, model: str, *, base_url: str, api_key: str | None = None, **params: Any):
        if not base_url:
            raise LabellerConfigError("the openai_compatible labeller needs base_url, e.g. http://host:8000/v1")
        super().__init__(
            model, api_key=api_key or os.environ.get(self.api_key_env) or _NO_KEY, base_url=base_url, **params
        )

    def _resolve_price(self, model: str, price: PriceLike | None) -> Price:
        return resolve_price(model, price) if price is not None else FREE
