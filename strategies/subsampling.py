"""Run any strategy on a random subsample of a very large pool."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from strategies.base import Strategy


class SubsamplingStrategy(Strategy):
    """Wrap a strategy so it only sees ``max_pool`` pool examples drawn at random (seeded).

    For pools too large to score in a round (model-based strategies generate for every
    example): the wrapped strategy ranks a uniform subsample of ``max(max_pool, k)``
    examples, as small-text's ``SubsamplingQueryStrategy`` does. Pools no larger than
    ``max_pool`` pass through untouched. ``base`` names the wrapped strategy (any name of
    :func:`strategies.available`), ``base_params`` its parameters.
    Defaults: ``max_pool=10000``.
    """

    name = "subsample"

    def __init__(self, base: str = "random", max_pool: int = 10_000, base_params: Mapping[str, Any] | None = None):
        self.base = base
        self.max_pool = max_pool
        self.base_params = base_params

    @property
    def wrapped(self) -> Strategy:
        from strategies import get_strategy

        return get_strategy(self.base, **dict(self.base_params or {}))

    @property
    def needs_model(self) -> bool:  # type: ignore[override]
        return self.wrapped.needs_model

    def _select(self, pool, k, *, labeled, model, seed):
        if len(pool) > self.max_pool:
            size = max(self.max_pool, k)
            keep = np.sort(np.random.default_rng(seed).choice(len(pool), size=size, replace=False))
            pool = [pool[i] for i in keep]
        return self.wrapped.select(pool, k, labeled=labeled, model=model, seed=seed)
