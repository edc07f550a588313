"""Prices per 1M input/output tokens, and exact cost arithmetic.

Costs are integers in picodollars (1e-12 USD) so that ledgers add them exactly and
``is_out_of_budget`` never depends on float rounding: a price in USD per 1M tokens is exactly
``price * 1e6`` picodollars per token. Batch APIs (OpenAI Batch, Anthropic Message Batches)
bill half the synchronous price.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from labellers.errors import UnknownPriceError

PICODOLLARS_PER_USD = 10**12
BATCH_DISCOUNT = Decimal("0.5")


@dataclass(frozen=True)
class Price:
    """USD per 1M input tokens and per 1M output tokens."""

    input_per_million: Decimal
    output_per_million: Decimal

    @classmethod
    def of(cls, input_per_million: float | str | Decimal, output_per_million: float | str | Decimal) -> Price:
        # str() first: Decimal(0.15) would carry the float's binary error into every cost.
        return cls(Decimal(str(input_per_million)), Decimal(str(output_per_million)))

    @property
    def is_free(self) -> bool:
        return self.input_per_million == 0 and self.output_per_million == 0

    def cost_units(self, input_tokens: int, output_tokens: int, *, batch: bool = False) -> int:
        """Cost in picodollars, rounded up (so an estimate never undershoots)."""
        usd_per_million = self.input_per_million * input_tokens + self.output_per_million * output_tokens
        if batch:
            usd_per_million *= BATCH_DISCOUNT
        return int((usd_per_million * 10**6).to_integral_value(rounding=ROUND_CEILING))


PriceLike = Price | tuple[float, float]

FREE = Price.of(0, 0)

#: List prices (USD per 1M tokens, standard tier) as published by OpenAI and Anthropic in 2025.
#: A model name matches its longest prefix here, so dated snapshots
#: ("gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929") find their family's price.
DEFAULT_PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-5": Price.of("1.25", "10"),
    "gpt-5-mini": Price.of("0.25", "2"),
    "gpt-5-nano": Price.of("0.05", "0.40"),
    "gpt-4.1": Price.of("2", "8"),
    "gpt-4.1-mini": Price.of("0.40", "1.60"),
    "gpt-4.1-nano": Price.of("0.10", "0.40"),
    "gpt-4o": Price.of("2.50", "10"),
    "gpt-4o-mini": Price.of("0.15", "0.60"),
    "o3": Price.of("2", "8"),
    "o3-mini": Price.of("1.10", "4.40"),
    "o4-mini": Price.of("1.10", "4.40"),
    "gpt-3.5-turbo": Price.of("0.50", "1.50"),
    # Anthropic
    "claude-opus-4-5": Price.of("5", "25"),
    "claude-opus-4": Price.of("15", "75"),
    "claude-sonnet-4": Price.of("3", "15"),
    "claude-3-7-sonnet": Price.of("3", "15"),
    "claude-3-5-sonnet": Price.of("3", "15"),
    "claude-haiku-4-5": Price.of("1", "5"),
    "claude-3-5-haiku": Price.of("0.80", "4"),
    "claude-3-haiku": Price.of("0.25", "1.25"),
}


def resolve_price(
    model: str, override: PriceLike | None = None, table: Mapping[str, Price] = DEFAULT_PRICES
) -> Price:
    """The price of ``model``: ``override`` if given, else the longest matching prefix in ``table``."""
    if override is not None:
        return override if isinstance(override, Price) else Price.of(*override)
    matches = [name for name in table if model == name or model.startswith(name + "-")]
    if not matches:
        raise UnknownPriceError(
            f"no price known for model {model!r}; pass price=(usd_per_1M_input, usd_per_1M_output). "
            f"Known models: {', '.join(sorted(table))}"
        )
    return table[max(matches, key=len)]


def units_to_usd(units: int) -> float:
    return units / PICODOLLARS_PER_USD


def usd_to_units(usd: float) -> int:
    # Rounded down: a budget is a cap, so its integer form must not exceed what was given.
    return int(Decimal(str(usd)) * PICODOLLARS_PER_USD)
