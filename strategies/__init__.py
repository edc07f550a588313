"""AL/ED strategies behind one interface: ``get_strategy(name, **params)``, ``available()``."""
from __future__ import annotations

import inspect

from strategies.base import EmptyPoolError, ScoringStrategy, Strategy, StrategyError
from strategies.facility_location import FacilityLocationStrategy
from strategies.huds import HUDSStrategy
from strategies.idds import IDDSStrategy
from strategies.mte import MTEStrategy
from strategies.nsp import NSPStrategy
from strategies.random_sampling import RandomStrategy

_REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        RandomStrategy,
        NSPStrategy,
        MTEStrategy,
        IDDSStrategy,
        FacilityLocationStrategy,
        HUDSStrategy,
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


__all__ = ["EmptyPoolError", "ScoringStrategy", "Strategy", "StrategyError", "available", "get_strategy"]
