"""The one interface every active-learning / experimental-design strategy implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Hashable, Sequence

from training.example import Example


class StrategyError(ValueError):
    """A strategy was asked for something it cannot do (unknown name or parameter, bad k)."""


class EmptyPoolError(StrategyError):
    """``select`` was called on an empty pool."""


class Strategy(ABC):
    """Rank unlabeled examples by how useful labelling them would be.

    Contract (DESIGN.md): ``select`` returns the **ids** of ``k`` distinct pool examples, most
    informative first. ``k`` larger than the pool returns every pool id (ranked); an empty pool
    raises :class:`EmptyPoolError`; ``k < 1`` raises :class:`StrategyError`.
    Hyperparameters are constructor arguments stored as given; no heavy work in ``__init__``.
    """

    name: str = ""
    needs_model: bool = False

    def select(
        self,
        pool: Sequence[Example],
        k: int,
        *,
        labeled: Sequence[Example] = (),
        model: Any = None,
        seed: int = 0,
    ) -> list[Hashable]:
        check_request(pool, k)
        return self._select(pool, min(k, len(pool)), labeled=labeled, model=model, seed=seed)

    @abstractmethod
    def _select(
        self, pool: Sequence[Example], k: int, *, labeled: Sequence[Example], model: Any, seed: int
    ) -> list[Hashable]: ...


class ScoringStrategy(Strategy):
    """A strategy with a per-example score: select = the k highest scores."""

    @abstractmethod
    def score(
        self, pool: Sequence[Example], *, labeled: Sequence[Example] = (), model: Any = None, seed: int = 0
    ) -> dict[Hashable, float]:
        """Informativeness per pool id; higher means label it sooner."""

    def _select(self, pool, k, *, labeled, model, seed):
        scores = self.score(pool, labeled=labeled, model=model, seed=seed)
        # Stable ordering: ties keep pool order, so results are deterministic.
        order = sorted(range(len(pool)), key=lambda i: -scores[pool[i].id])
        return [pool[i].id for i in order[:k]]


def check_request(pool: Sequence[Example], k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise StrategyError(f"k must be a positive integer, got {k!r}")
    if len(pool) == 0:
        raise EmptyPoolError("cannot select from an empty pool")
