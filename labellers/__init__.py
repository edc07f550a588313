"""LLM annotators behind one protocol: ``get_labeller(name, **params).annotate(examples)``.

Names: ``gold``, ``local``, ``openai``, ``anthropic``, ``openai_compatible``. Paid labellers
keep a hard budget (:mod:`labellers.ledger`), cache answers (:mod:`labellers.cache`) and offer
their provider's batch API (``use_batch=True``, half price).
"""
from __future__ import annotations

import importlib
from typing import Any

from labellers.annotation import BUDGET_EXHAUSTED, Annotation
from labellers.base import ApiLabeller, Labeller
from labellers.cache import AnswerCache, open_cache
from labellers.errors import BadCredentialsError, LabellerConfigError, LabellerError, UnknownPriceError
from labellers.ledger import BudgetLedger, open_ledger
from labellers.pricing import DEFAULT_PRICES, Price

# Imported on demand: the SDKs and the inference engine are not needed by every caller.
_REGISTRY: dict[str, str] = {
    "gold": "labellers.gold:GoldLabeller",
    "local": "labellers.local:LocalLabeller",
    "openai": "labellers.openai_labeller:OpenAILabeller",
    "openai_compatible": "labellers.openai_labeller:OpenAICompatibleLabeller",
    "anthropic": "labellers.anthropic_labeller:AnthropicLabeller",
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def get_labeller(name: str, **params: Any) -> Labeller:
    """Build the labeller called ``name`` with its constructor parameters."""
    if name not in _REGISTRY:
        raise LabellerConfigError(f"unknown labeller {name!r}; valid: {', '.join(available())}")
    module_name, class_name = _REGISTRY[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise LabellerConfigError(f"bad parameters for labeller {name!r}: {exc}") from exc


__all__ = [
    "BUDGET_EXHAUSTED",
    "DEFAULT_PRICES",
    "Annotation",
    "AnswerCache",
    "ApiLabeller",
    "BadCredentialsError",
    "BudgetLedger",
    "Labeller",
    "LabellerConfigError",
    "LabellerError",
    "Price",
    "UnknownPriceError",
    "available",
    "get_labeller",
    "open_cache",
    "open_ledger",
]
