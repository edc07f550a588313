"""How labeller answers are used, and when auto mode stops (pure logic; the backend acts on it).

- ``review``: answers become Label Studio *predictions* (``model_version`` names the labeller)
  for people to accept or fix.
- ``auto``: answers become *annotations* marked as LLM-made, round after round, until a stopping
  criterion holds: a number of labels, the budget, or a target metric on held-out data.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from labellers.annotation import Annotation
from labellers.errors import LabellerConfigError


class Mode(str, Enum):
    REVIEW = "review"
    AUTO = "auto"

    @classmethod
    def parse(cls, value: str | Mode) -> Mode:
        try:
            return cls(value)
        except ValueError:
            raise LabellerConfigError(
                f"unknown labelling mode {value!r}; valid: {', '.join(m.value for m in cls)}"
            ) from None


@dataclass(frozen=True)
class StoppingCriterion:
    """When auto mode stops. Any limit left ``None`` is not checked; the first one reached stops.

    ``max_labels``: LLM-made annotations in total; ``budget``: USD; ``target_metric``: stop once
    the held-out metric reaches it (``higher_is_better=False`` for losses and error rates).
    """

    max_labels: int | None = None
    budget: float | None = None
    target_metric: float | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.max_labels is not None and self.max_labels < 0:
            raise LabellerConfigError(f"max_labels must be >= 0, got {self.max_labels}")
        if self.budget is not None and self.budget < 0:
            raise LabellerConfigError(f"budget must be >= 0, got {self.budget}")


@dataclass(frozen=True)
class AutoProgress:
    """Where an auto-mode project stands after a round.

    ``out_of_budget`` is the labeller's exact ``is_out_of_budget``; ``budget_blocked`` is true
    when the last round got no label because every request was refused for budget (what is
    left cannot pay for any request, though it is not zero).
    """

    labels: int
    spent: float
    metric: float | None = None
    out_of_budget: bool = False
    budget_blocked: bool = False


def stop_reason(criterion: StoppingCriterion, progress: AutoProgress) -> str | None:
    """Why auto mode stops now, or ``None`` to run another round."""
    if criterion.max_labels is not None and progress.labels >= criterion.max_labels:
        return f"label limit reached ({progress.labels} of {criterion.max_labels})"
    if progress.out_of_budget or progress.budget_blocked:
        return f"budget spent (${progress.spent:.6f})"
    if criterion.budget is not None and progress.spent >= criterion.budget:
        return f"budget spent (${progress.spent:.6f} of ${criterion.budget:.6f})"
    if criterion.target_metric is not None and progress.metric is not None:
        reached = (
            progress.metric >= criterion.target_metric
            if criterion.higher_is_better
            else progress.metric <= criterion.target_metric
        )
        if reached:
            return f"target metric reached ({progress.metric:.4f}, target {criterion.target_metric:.4f})"
    return None


def labels_this_round(criterion: StoppingCriterion, progress: AutoProgress, batch_size: int) -> int:
    """How many tasks to send to the labeller this round without passing ``max_labels``."""
    if criterion.max_labels is None:
        return batch_size
    return max(0, min(batch_size, criterion.max_labels - progress.labels))


def round_was_budget_blocked(annotations: list[Annotation]) -> bool:
    """True when a round's requests were all refused for budget (none got an answer)."""
    return bool(annotations) and all(a.budget_exhausted for a in annotations)


def llm_annotation_meta(annotation: Annotation, model_version: str) -> dict[str, Any]:
    """What marks an auto-mode annotation as LLM-made (for the Label Studio result's ``meta``)."""
    return {
        "llm_made": True,
        "labeller": model_version,
        "from_cache": annotation.from_cache,
        "input_tokens": annotation.input_tokens,
        "output_tokens": annotation.output_tokens,
        "cost_usd": annotation.cost,
    }
