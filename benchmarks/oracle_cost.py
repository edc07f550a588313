"""What an oracle's answers would cost at an API's list price ("as if priced").

The ATGen paper reports AL cutting LLM-annotation cost 2-4x. Where no API is reachable, the
benchmark labels with the free ``local`` labeller and counts each answer at a chosen model's
price (``--price-as gpt-4o-mini``): input tokens of the prompt plus the generated tokens, priced
with ``labellers.pricing`` (USD per 1M tokens). Input tokens come from the labeller engine's own
tokenizer; without one, from the usual 4-characters-per-token estimate.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from labellers import Annotation
from labellers.pricing import resolve_price, units_to_usd
from training.example import Example

_CHARS_PER_TOKEN = 4


def token_counter(labeller) -> Callable[[str], int]:
    """Count tokens with the labeller's engine tokenizer when it has one."""
    tokenizer = getattr(getattr(labeller, "engine", None), "tokenizer", None)
    if tokenizer is not None:
        return lambda text: len(tokenizer(text)["input_ids"])
    return lambda text: max(1, -(-len(text) // _CHARS_PER_TOKEN))


def as_if_priced(
    annotations: Sequence[Annotation], examples: Sequence[Example], model: str, count_tokens: Callable[[str], int]
) -> float:
    """USD the annotations would have cost at ``model``'s list price."""
    price = resolve_price(model)
    units = sum(
        price.cost_units(count_tokens(example.input), annotation.output_tokens)
        for annotation, example in zip(annotations, examples, strict=True)
    )
    return units_to_usd(units)
