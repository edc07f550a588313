"""The ``anthropic`` labeller: Claude through the Messages API, synchronous or Message Batches.

Message Batches (``POST /v1/messages/batches``, poll until ``processing_status == "ended"``,
stream the results JSONL and map rows back by ``custom_id``) bill half the synchronous price.
"""
from __future__ import annotations

import os
from typing import Any

import anthropic

from labellers.base import ApiLabeller, ChatRequest, Reply
from labellers.errors import LabellerConfigError
from labellers.prompts import Message


class AnthropicLabeller(ApiLabeller):
    """Annotates with a Claude model. Key: ``api_key`` or ``ANTHROPIC_API_KEY``."""

    name = "anthropic"
    sdk = anthropic
    provider = "Anthropic"
    api_key_env = "ANTHROPIC_API_KEY"

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None, **params: Any):
        super().__init__(model, **params)
        api_key = api_key or os.environ.get(self.api_key_env)
        if not api_key:
            raise LabellerConfigError(
                f"the anthropic labeller needs an API key: pass api_key= or set {self.api_key_env}"
            )
        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=self.timeout)

    def _params(self, messages: list[Message]) -> dict[str, Any]:
        # The Messages API takes the system prompt as a field, not as a message; the current API
        # (SDK 2.x) no longer takes a sampling temperature, so ``temperature`` is not sent.
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [m for m in messages if m["role"] != "system"],
        }
        if system:
            params["system"] = system
        return params

    def _complete(self, messages: list[Message]) -> Reply:
        return reply_from_message(self.client.messages.create(**self._params(messages)).model_dump())

    def _submit_batch(self, requests: list[ChatRequest]) -> str:
        batch = self._call(
            lambda: self.client.messages.batches.create(
                requests=[{"custom_id": r.key, "params": self._params(r.messages)} for r in requests]
            )
        )
        return batch.id

    def _poll_batch(self, batch_id: str) -> tuple[bool, Any]:
        batch = self.client.messages.batches.retrieve(batch_id)
        return batch.processing_status == "ended", batch

    def _collect_batch(self, batch: Any) -> tuple[dict[str, Reply | str], str]:
        results: dict[str, Reply | str] = {}
        for row in self._call(lambda: list(self.client.messages.batches.results(batch.id))):
            result = row.result
            if result.type == "succeeded":
                results[row.custom_id] = reply_from_message(result.message.model_dump())
            elif result.type == "errored":
                error = result.error.error
                results[row.custom_id] = f"{error.type}: {error.message}"
            else:  # "canceled" or "expired": never ran, never billed
                results[row.custom_id] = f"request {result.type} before it ran"
        return results, "no result for this request in the batch output"


def reply_from_message(message: dict) -> Reply:
    """A :class:`Reply` from a Messages API response; thinking blocks are not part of the answer."""
    usage = message.get("usage") or {}
    input_tokens = sum(
        usage.get(field) or 0
        for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    tokens = {"input_tokens": input_tokens, "output_tokens": usage.get("output_tokens") or 0}
    if message.get("stop_reason") == "refusal":
        return Reply(None, error="refused by the model", **tokens)
    texts = [block["text"] for block in message.get("content") or [] if block.get("type") == "text"]
    return Reply("".join(texts) if texts else None, **tokens)
