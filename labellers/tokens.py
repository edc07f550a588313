"""An upper bound on a request's input tokens, computed without the provider's tokenizer.

Every token of a byte-level BPE tokenizer (OpenAI's o200k/cl100k, Anthropic's, Llama 3's,
Qwen's) covers at least one UTF-8 byte, so a text has at most as many tokens as bytes. The chat
format adds a few tokens per message (OpenAI documents 3-4; a generous margin covers others).
The bound is loose (about 4x for English), which only makes the budget stop a little early.
"""
from __future__ import annotations

from collections.abc import Sequence

from labellers.prompts import Message

TOKENS_PER_MESSAGE = 8
TOKENS_PER_REQUEST = 16


def input_token_upper_bound(messages: Sequence[Message]) -> int:
    return TOKENS_PER_REQUEST + sum(
        TOKENS_PER_MESSAGE + len(message["content"].encode("utf-8")) for message in messages
    )
