"""LLM labellers inside a round (``labellers/``): the strategy picks which tasks deserve an
LLM call, the labeller answers them.

- ``review`` mode: the top ``query_size`` tasks get the LLM's answer as their prediction
  (the rest keep the acquisition model's), for people to accept or fix.
- ``auto`` mode: the answers become Label Studio annotations marked as LLM-made, round after
  round, until a stopping criterion holds (``auto_max_labels``, or the budget).

Spend and answers persist in Redis per project, so a restarted or retried round continues the
budget and never pays twice for the same prompt.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from backend.settings import ProjectSettings
from labellers import Annotation, Labeller, get_labeller, open_cache, open_ledger
from labellers.modes import (
    AutoProgress,
    StoppingCriterion,
    labels_this_round,
    round_was_budget_blocked,
    stop_reason,
)
from training.engine import Engine
from training.example import Example

logger = logging.getLogger(__name__)

API_LABELLERS = ("openai", "anthropic", "openai_compatible")


@dataclass
class LabellingOutcome:
    """What the labeller did in one round."""

    labeller: str
    mode: str
    answers: dict[Hashable, str] = field(default_factory=dict)
    failed: dict[Hashable, str] = field(default_factory=dict)
    spent: float = 0.0
    stop_reason: str | None = None

    def summary(self) -> dict[str, Any]:
        return {"labeller": self.labeller, "mode": self.mode, "answered": len(self.answers),
                "failed": len(self.failed), "spent_usd": self.spent, "stop_reason": self.stop_reason}


def build_labeller(settings: ProjectSettings, conn: redis.Redis, project_id: int, engine: Engine | None) -> Labeller:
    """The project's labeller, with its spend and answer cache kept in Redis."""
    params = dict(settings.labeller_params)
    params.setdefault("system_prompt", settings.system_prompt)
    if settings.labeller in API_LABELLERS:
        params.setdefault("budget", settings.budget if settings.budget > 0 else None)
        if isinstance(params.get("price"), list):  # JSON has no tuples
            params["price"] = tuple(params["price"])
        params["ledger"] = open_ledger(redis=conn, key=f"atgen:p:{project_id}:llm-ledger")
        params["cache"] = open_cache(redis=conn, key=f"atgen:p:{project_id}:llm-cache")
    elif settings.labeller == "local" and "model" not in params and engine is not None:
        # No model named: the acquisition model answers, through the engine already loaded.
        params.setdefault("engine", engine)
    return get_labeller(settings.labeller, **params)


def annotate(labeller: Labeller, examples: Sequence[Example], labeled: Sequence[Example], outcome: LabellingOutcome) -> list[Annotation]:
    annotations = labeller.annotate(examples, labeled=labeled) if examples else []
    for ann in annotations:
        if ann.ok:
            outcome.answers[ann.example_id] = ann.text
        else:
            outcome.failed[ann.example_id] = ann.error or "no answer"
            logger.warning("labeller gave no label for task %s: %s", ann.example_id, ann.error)
    outcome.spent = labeller.spent
    return annotations


def auto_criterion(settings: ProjectSettings) -> StoppingCriterion:
    return StoppingCriterion(
        max_labels=settings.auto_max_labels or None,
        budget=settings.budget if settings.budget > 0 else None,
    )


def auto_progress(labeller: Labeller, labels: int, annotations: Sequence[Annotation] = ()) -> AutoProgress:
    return AutoProgress(labels=labels, spent=labeller.spent, out_of_budget=labeller.is_out_of_budget,
                        budget_blocked=round_was_budget_blocked(list(annotations)))


def plan_auto_round(settings: ProjectSettings, labeller: Labeller, labels_so_far: int) -> tuple[int, str | None]:
    """How many tasks auto mode sends this round, or why it has stopped."""
    criterion = auto_criterion(settings)
    progress = auto_progress(labeller, labels_so_far)
    reason = stop_reason(criterion, progress)
    if reason is not None:
        return 0, reason
    return labels_this_round(criterion, progress, settings.query_size), None
