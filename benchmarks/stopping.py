"""When a simulated active-learning run stops: iterations, label budget, money budget, target quality.

Whichever criterion holds first ends the run; the reason is recorded next to the curve.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoppingCriteria:
    """Limits of one run; ``None`` disables a limit.

    ``max_iterations`` counts query rounds after the initial set; ``max_labels`` counts all
    labelled examples (initial set included); ``money_budget`` is the oracle's spend in dollars;
    ``target_metric`` stops once the main metric reaches that value.
    """

    max_iterations: int | None = None
    max_labels: int | None = None
    money_budget: float | None = None
    target_metric: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_iterations", "max_labels", "money_budget"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if all(getattr(self, n) is None for n in ("max_iterations", "max_labels", "money_budget", "target_metric")):
            raise ValueError("at least one stopping criterion is needed (iterations, labels, money or target)")

    def reason_to_stop(
        self, *, iteration: int, labels: int, spent: float, metric: float | None, pool_left: int
    ) -> str | None:
        """Why the run stops now (a short phrase), or ``None`` to query another batch."""
        if self.target_metric is not None and metric is not None and metric >= self.target_metric:
            return f"target metric {self.target_metric} reached ({metric:.4f})"
        if self.max_iterations is not None and iteration >= self.max_iterations:
            return f"{self.max_iterations} iterations done"
        if self.max_labels is not None and labels >= self.max_labels:
            return f"label budget {self.max_labels} used"
        if self.money_budget is not None and spent >= self.money_budget:
            return f"money budget ${self.money_budget:g} spent (${spent:.4f})"
        if pool_left <= 0:
            return "pool exhausted"
        return None

    def next_batch_size(self, query_size: int, labels: int, pool_left: int) -> int:
        """``query_size`` capped so the label budget and the pool are never overrun."""
        size = min(query_size, pool_left)
        if self.max_labels is not None:
            size = min(size, self.max_labels - labels)
        return max(size, 0)
