"""The one interface every active-learning / experimental-design strategy implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any

from training.example import Example


class StrategyError(ValueError):
    """A strategy was asked for something it cannot do (unknown name or parameter, bad k)."""


class EmptyPoolError(StrategyError):
    """``select`` was called on an empty pool (or one holding only labeled examples)."""


class Strategy(ABC):
    """Rank unlabeled examples by how useful labelling them would be.

    Contract (DESIGN.md): ``select`` returns the **ids** of ``k`` distinct pool examples, most
    informative first. ``k`` larger than the pool returns every pool id (ranked); an empty pool
    raises :class:`EmptyPoolError`; ``k < 1`` raises :class:`StrategyError`; two pool examples
    sharing an id raise :class:`StrategyError`. Pool examples whose id is also in ``labeled``
    are never returned (a task labelled since the pool was read must not be queued again).
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
        pool = unlabeled_part(pool, labeled)
        check_request(pool, k)
        self.check_model(model)
        return self._select(pool, min(k, len(pool)), labeled=labeled, model=model, seed=seed)

    def check_model(self, model: Any) -> None:
        """Model-based strategies need an inference engine; say so instead of crashing later."""
        if self.needs_model and model is None:
            raise StrategyError(
                f"strategy {self.name!r} needs a model (an inference engine from training.get_engine); "
                "pass model=..."
            )

    @abstractmethod
    def _select(
        self, pool: Sequence[Example], k: int, *, labeled: Sequence[Example], model: Any, seed: int
    ) -> list[Hashable]: ...


class ScoringStrategy(Strategy):
    """A strategy with a per-example score: select = the k highest scores."""

    def score(
        self, pool: Sequence[Example], *, labeled: Sequence[Example] = (), model: Any = None, seed: int = 0
    ) -> dict[Hashable, float]:
        """Informativeness per pool id; higher means label it sooner."""
        pool = unlabeled_part(pool, labeled)
        if not pool:
            return {}
        self.check_model(model)
        return self._score(pool, labeled=labeled, model=model, seed=seed)

    @abstractmethod
    def _score(
        self, pool: Sequence[Example], *, labeled: Sequence[Example], model: Any, seed: int
    ) -> dict[Hashable, float]: ...

    def _select(self, pool, k, *, labeled, model, seed):
        scores = self._score(pool, labeled=labeled, model=model, seed=seed)
        return top_ids(pool, [scores[ex.id] for ex in pool], k)


def top_ids(pool: Sequence[Example], values: Sequence[float], k: int) -> list[Hashable]:
    """Ids of the ``k`` largest values; ties keep pool order so results are deterministic."""
    order = sorted(range(len(pool)), key=lambda i: -values[i])
    return [pool[i].id for i in order[:k]]


def unlabeled_part(pool: Sequence[Example], labeled: Sequence[Example]) -> list[Example]:
    """The pool without examples whose id is labeled; duplicate pool ids are an error."""
    seen: set[Hashable] = set()
    for ex in pool:
        if ex.id in seen:
            raise StrategyError(f"pool holds two examples with id {ex.id!r}; ids must be unique")
        seen.add(ex.id)
    labeled_ids = {ex.id for ex in labeled}
    return [ex for ex in pool if ex.id not in labeled_ids]


def check_request(pool: Sequence[Example], k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise StrategyError(f"k must be a positive integer, got {k!r}")
    if len(pool) == 0:
        raise EmptyPoolError("cannot select from an empty pool (no unlabeled examples)")
