"""Prompt formatting shared by inference and training.

The engine and the trainer must see exactly the same prompt, or a fine-tuned adapter is
evaluated on text it never saw; this module is the one place that builds it.
"""
from __future__ import annotations

from collections.abc import Sequence

from training.example import Example

FewShot = Sequence["Example | tuple[str, str]"]


def _shot_pair(shot) -> tuple[str, str]:
    if isinstance(shot, Example):
        if shot.target is None:
            raise ValueError(f"few-shot example {shot.id!r} has no output")
        return shot.input, shot.target
    question, answer = shot
    return question, answer


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def format_prompt(tokenizer, input: str, system_prompt: str | None = None, few_shot: FewShot = ()) -> str:
    """Build the text the model continues: system prompt + few-shot examples + task input.

    With a chat template the few-shot examples become earlier user/assistant turns and the
    generation prompt (the assistant header) is appended; without one, a plain
    ``Input:``/``Output:`` layout is used. ``few_shot`` holds ``Example`` objects or
    ``(input, output)`` pairs.
    """
    shots = [_shot_pair(shot) for shot in few_shot]
    if has_chat_template(tokenizer):
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        for question, answer in shots:
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        messages.append({"role": "user", "content": input})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    parts = [system_prompt] if system_prompt else []
    parts += [f"Input: {question}\nOutput: {answer}" for question, answer in shots]
    parts.append(f"Input: {input}\nOutput:")
    return "\n\n".join(parts)


class PromptFormatting:
    """``format`` for the engines: they hold a ``tokenizer``, a ``system_prompt`` and ``few_shot``."""

    tokenizer: object
    system_prompt: str | None
    few_shot: FewShot

    def format(self, prompt: str) -> str:
        """The exact text the model sees for a task input (chat template, system prompt, shots)."""
        return format_prompt(self.tokenizer, prompt, self.system_prompt, self.few_shot)


def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """Token ids of a formatted prompt.

    A chat template already writes every special token it wants, so none are added then;
    plain prompts get the tokenizer's usual BOS.
    """
    return tokenizer(prompt, add_special_tokens=not has_chat_template(tokenizer))["input_ids"]


def encode_answer(tokenizer, answer: str) -> list[int]:
    """Token ids of a target answer followed by EOS: the model learns where to stop.

    A plain (no chat template) prompt ends in ``Output:``, so the answer is separated by a space.
    """
    text = answer if has_chat_template(tokenizer) else " " + answer
    return tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
