"""Prompt templates per task type: a system prompt, optional few-shot examples, the task input.

Few-shot examples are drawn from already-labeled data with a random generator seeded by the
example id, so the same example gets the same prompt when a round is retried (and its answer
then comes from the cache instead of being paid for again).
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from labellers.errors import LabellerConfigError
from training.example import Example

Message = dict[str, str]

SYSTEM_PROMPTS: dict[str, str] = {
    "qa": "Answer the question. Reply with the answer only, as briefly as possible.",
    "summarization": "Summarise the text in one or two sentences. Reply with the summary only.",
    "translation": "Translate the text as instructed. Reply with the translation only.",
    "math": (
        "Solve the problem step by step. End with a last line of the form 'Answer: <final answer>'."
    ),
    "generation": "Follow the instruction. Reply with the requested text only.",
}


@dataclass(frozen=True)
class PromptTemplate:
    """How a labeller asks for an example's answer.

    ``n_shots`` labeled examples (at most) are shown as earlier user/assistant turns.
    """

    system: str
    n_shots: int = 0

    @classmethod
    def for_task(cls, task: str, n_shots: int = 0, system: str | None = None) -> PromptTemplate:
        """The default template of a task type (``qa``, ``summarization``, ``translation``, ``math``,
        ``generation``); ``system`` replaces its system prompt."""
        if task not in SYSTEM_PROMPTS:
            raise LabellerConfigError(f"unknown task type {task!r}; valid: {', '.join(SYSTEM_PROMPTS)}")
        if n_shots < 0:
            raise LabellerConfigError(f"n_shots must be >= 0, got {n_shots}")
        return cls(system=system if system is not None else SYSTEM_PROMPTS[task], n_shots=n_shots)

    def shots(self, example_id: Hashable, labeled: Sequence[Example]) -> list[Example]:
        """Up to ``n_shots`` labeled examples (never ``example_id`` itself), chosen by a
        generator seeded with ``example_id``."""
        candidates = [other for other in labeled if other.is_labeled and other.id != example_id]
        if self.n_shots == 0 or not candidates:
            return []
        seed = int.from_bytes(hashlib.sha256(repr(example_id).encode()).digest()[:8], "big")
        return random.Random(seed).sample(candidates, min(self.n_shots, len(candidates)))

    def messages(self, example: Example, labeled: Sequence[Example] = ()) -> list[Message]:
        """Chat messages: system, then (user, assistant) per shot, then the task input."""
        messages: list[Message] = [{"role": "system", "content": self.system}]
        for shot in self.shots(example.id, labeled):
            messages.append({"role": "user", "content": shot.input})
            messages.append({"role": "assistant", "content": shot.target or ""})
        messages.append({"role": "user", "content": example.input})
        return messages
