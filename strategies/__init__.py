"""AL/ED strategies behind one interface: ``get_strategy(name, **params)``, ``available()``."""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from strategies.base import EmptyPoolError, ScoringStrategy, Strategy, StrategyError
from strategies.bert_km import BERTKMStrategy
from strategies.bleuvar import BLEUVarStrategy
from strategies.cal import CALStrategy
from strategies.coreset import CoreSetStrategy
from strategies.dual import DUALStrategy
from strategies.facility_location import FacilityLocationStrategy
from strategies.hadas import HADASStrategy
from strategies.huds import HUDSStrategy
from strategies.idds import IDDSStrategy
from strategies.mte import MTEStrategy
from strategies.nsp import NSPStrategy
from strategies.random_sampling import RandomStrategy
from strategies.signal import SIGnALStrategy
from strategies.subsampling import SubsamplingStrategy
from strategies.te_delfy import TEDelfyStrategy

_REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        RandomStrategy,
        NSPStrategy,
        MTEStrategy,
        IDDSStrategy,
        FacilityLocationStrategy,
        HUDSStrategy,
        TEDelfyStrategy,
        BLEUVarStrategy,
        HADASStrategy,
        SIGnALStrategy,
        CALStrategy,
        CoreSetStrategy,
        BERTKMStrategy,
        DUALStrategy,
        SubsamplingStrategy,
    )
}


def available() -> list[str]:
    """Names accepted by :func:`get_strategy`, sorted."""
    return sorted(_REGISTRY)


def get_strategy(name: str, **params) -> Strategy:
    """Build a strategy by name; unknown names or parameters raise a :class:`StrategyError`
    that lists the valid ones."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise StrategyError(f"unknown strategy {name!r}; available: {', '.join(available())}") from None
    valid = list(inspect.signature(cls).parameters)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise StrategyError(
            f"unknown parameter(s) {', '.join(unknown)} for strategy {name!r}; "
            f"valid: {', '.join(valid) or '(none)'}"
        )
    return cls(**params)


def get_strategy_with_length(name: str, params: Mapping[str, Any], max_new_tokens: int) -> Strategy:
    """:func:`get_strategy`, generating ``max_new_tokens`` tokens when the strategy generates
    and ``params`` do not say otherwise: its generations are then the answers the caller
    evaluates or shows as predictions, and scoring stops as early as they do."""
    params = dict(params)
    cls = _REGISTRY.get(name)
    if cls is not None and "max_new_tokens" in inspect.signature(cls).parameters:
        params.setdefault("max_new_tokens", max_new_tokens)
    return get_strategy(name, **params)


__all__ = [
    "EmptyPoolError", "ScoringStrategy", "Strategy", "StrategyError", "available", "get_strategy",
    "get_strategy_with_length",
]
