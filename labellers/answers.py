"""Turning a model's raw reply into a label: strip reasoning blocks, reject empty answers."""
from __future__ import annotations

import re

# Reasoning models wrap their chain of thought in tags (DeepSeek-R1 and Qwen3 use <think>);
# the label is what follows.
_REASONING_TAGS = ("think", "thinking", "reasoning", "reflection")
_CLOSED_BLOCK = re.compile(
    r"<({})>.*?</\1>".format("|".join(_REASONING_TAGS)), flags=re.DOTALL | re.IGNORECASE
)
_OPEN_TAG = re.compile(r"<({})>".format("|".join(_REASONING_TAGS)), flags=re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</({})>".format("|".join(_REASONING_TAGS)), flags=re.IGNORECASE)

EMPTY_ANSWER = "empty answer"


def strip_reasoning(text: str) -> str:
    """Remove reasoning blocks from ``text``.

    Handles closed blocks anywhere, a reply that starts mid-reasoning (the chat template opened
    the tag, so only ``</think>`` appears: keep what follows the last one), and a block cut off
    by ``max_tokens`` (an unclosed tag: nothing after it is an answer).
    """
    text = _CLOSED_BLOCK.sub("", text)
    closes = list(_CLOSE_TAG.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    opened = _OPEN_TAG.search(text)
    if opened:
        text = text[: opened.start()]
    return text.strip()


def clean_answer(raw: str | None) -> tuple[str, str | None]:
    """``(answer, error)``: the stripped answer, or ``("", reason)`` when it is not a usable label."""
    if raw is None:
        return "", "malformed reply: no text content"
    answer = strip_reasoning(raw)
    if not answer:
        return "", EMPTY_ANSWER
    return answer, None
