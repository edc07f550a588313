"""The record a labeller returns for each example it was asked to annotate."""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

#: ``Annotation.error`` for an example that was not sent because its worst-case cost did not fit.
BUDGET_EXHAUSTED = "budget exhausted: the request's worst-case cost does not fit in the remaining budget"


@dataclass(frozen=True)
class Annotation:
    """One labeller answer (or the reason there is none).

    ``text`` is the answer with reasoning blocks removed; it is ``""`` whenever ``error`` is set,
    so a failed, empty or malformed answer is never mistaken for a label. ``input_tokens``,
    ``output_tokens`` and ``cost`` (USD) are what *this* call used: an answer served from the
    cache has ``from_cache=True`` and costs nothing. A paid call whose answer was unusable still
    carries its tokens and cost.
    """

    example_id: Hashable
    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    error: str | None = None
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        """True when ``text`` is a usable label."""
        return self.error is None

    @property
    def budget_exhausted(self) -> bool:
        return self.error == BUDGET_EXHAUSTED
