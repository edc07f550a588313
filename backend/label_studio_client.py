"""Everything the backend asks of Label Studio, through its Python SDK (2.x).

Label Studio is the source of truth for labels: a round re-reads all tasks and annotations
here, so a lost or replayed webhook never loses or doubles a label.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from label_studio_sdk import LabelStudio, PredictionRequest

logger = logging.getLogger(__name__)

UNCERTAINTY_SAMPLING = "Uncertainty sampling"
PRIORITY_VIEW_TITLE = "ATGen-LS priority"
PAGE_SIZE = 100
PREDICTION_CHUNK = 500


@dataclass
class TaskRecord:
    """A task as a round needs it: its data and its usable (non-skipped) annotation results,
    newest first."""

    id: int
    data: dict[str, Any]
    annotation_results: list[list[dict[str, Any]]]
    skipped: bool = False


class LabelStudioClient:
    def __init__(self, url: str, api_key: str, timeout: float = 60.0):
        if not url:
            raise ValueError("no Label Studio URL: set LABEL_STUDIO_URL or connect the backend from Label Studio")
        if not api_key:
            raise ValueError("no Label Studio API key: set LABEL_STUDIO_API_KEY (or let /setup carry an access token)")
        self.url = url.rstrip("/")
        self.sdk = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout)

    def iter_tasks(self, project_id: int) -> Iterator[TaskRecord]:
        """Every task of the project with its annotations, page by page."""
        pager = self.sdk.tasks.list(project=project_id, fields="all", page_size=PAGE_SIZE)
        for task in pager:
            yield _task_record(_as_dict(task))

    def push_predictions(self, project_id: int, predictions: Sequence[dict[str, Any]]) -> int:
        """Create predictions in bulk (``task``, ``result``, ``score``, ``model_version``)."""
        created = 0
        for start in range(0, len(predictions), PREDICTION_CHUNK):
            chunk = predictions[start : start + PREDICTION_CHUNK]
            self.sdk.projects.import_predictions(id=project_id, request=[PredictionRequest(**p) for p in chunk])
            created += len(chunk)
        return created

    def create_annotation(self, task_id: int, result: list[dict[str, Any]], **fields: Any) -> Any:
        return self.sdk.annotations.create(id=task_id, result=result, **fields)

    def order_queue(self, project_id: int, model_version: str) -> None:
        """Make Label Studio serve the lowest prediction score of ``model_version`` next.

        ``ml.create`` sets the project's model_version to the backend's *title*; until it
        equals the version the predictions carry, Label Studio silently samples at random.
        """
        self.sdk.projects.update(id=project_id, model_version=model_version, sampling=UNCERTAINTY_SAMPLING)
        self.ensure_priority_view(project_id)

    def ensure_priority_view(self, project_id: int) -> int:
        """A Data Manager tab ordered by prediction score (most informative first), for
        "Label tasks as displayed"."""
        for view in self.sdk.views.list(project=project_id):
            data = _as_dict(view).get("data") or {}
            if data.get("title") == PRIORITY_VIEW_TITLE:
                return _as_dict(view)["id"]
        view = self.sdk.views.create(
            project=project_id,
            data={"title": PRIORITY_VIEW_TITLE, "ordering": ["tasks:predictions_score"]},
        )
        return _as_dict(view)["id"]


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    return dict(obj)


def _task_record(task: dict[str, Any]) -> TaskRecord:
    annotations = [a if isinstance(a, dict) else _as_dict(a) for a in task.get("annotations") or []]
    usable = [a for a in annotations if not a.get("was_cancelled")]
    usable.sort(key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""), reverse=True)
    return TaskRecord(
        id=int(task["id"]),
        data=dict(task.get("data") or {}),
        annotation_results=[a.get("result") or [] for a in usable],
        skipped=bool(annotations) and not usable,
    )
