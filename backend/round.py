"""One active-learning round for one project: the RQ job behind the whole loop.

1. pull labeled tasks and the unlabeled pool from Label Studio;
2. train the LoRA adapter from the previous version (written atomically);
3. rank the pool with the project's strategy (an embedding-only one while nothing is labeled);
4. pre-annotate the pool with the current model, push one prediction per unlabeled task with
   the new model version and a score that puts the most informative task first;
5. make Label Studio's queue follow that version, record the round.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rq import Queue, get_current_job

from backend import engines
from backend.label_config import GenerationTarget, MissingInputError
from backend.label_studio_client import LabelStudioClient, TaskRecord
from backend.llm_labelling import (
    LabellingOutcome,
    annotate,
    auto_criterion,
    auto_progress,
    build_labeller,
    plan_auto_round,
)
from backend.priority import priority_scores, rank_pool
from backend.project_state import ProjectState
from backend.scheduling import finish_round, request_round, take_intent
from backend.settings import ProjectSettings, ServiceSettings
from labellers.modes import llm_annotation_meta, stop_reason
from strategies import get_strategy_with_length
from strategies.features import FEATURES
from training.adapters import AdapterRegistry, AdapterVersion
from training.example import Example
from training.lora import TrainConfig, train_adapter
from training.models import resolve_model_path

logger = logging.getLogger(__name__)


@dataclass
class ProjectData:
    """A project's tasks split for a round."""

    labeled: list[Example] = field(default_factory=list)
    pool: list[Example] = field(default_factory=list)
    missing_input: list[int] = field(default_factory=list)


def split_tasks(tasks: list[TaskRecord], target: GenerationTarget, settings: ProjectSettings) -> ProjectData:
    """Labeled examples (the newest usable annotation's text) and the unlabeled pool."""
    data = ProjectData()
    for task in tasks:
        try:
            prompt = target.prompt(task.data, max_chars=settings.max_input_chars)
        except MissingInputError as exc:
            logger.warning("task %s skipped: %s", task.id, exc)
            data.missing_input.append(task.id)
            continue
        texts = [t for t in (target.text_of(r) for r in task.annotation_results) if t]
        if texts:
            data.labeled.append(Example(id=task.id, input=prompt, output=texts[0]))
        elif not task.annotation_results and not task.skipped:
            data.pool.append(Example(id=task.id, input=prompt))
    return data


class RoundProgress:
    """Round progress in ``job.meta`` so any process (``/health``, the CLI) can report it."""

    def __init__(self, job):
        self.job = job

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None:
        logger.info("round stage %s %s/%s", stage, done, total)
        if self.job is not None:
            self.job.meta.update({"stage": stage, "done": done, "total": total, "updated": time.time()})
            self.job.save_meta()


def run_round(project_id: int) -> dict[str, Any]:
    """RQ job: run one round for ``project_id``; always schedules a follow-up if requests
    arrived meanwhile, even when this round fails."""
    job = get_current_job()
    service = ServiceSettings.from_env()
    state = ProjectState(job.connection, project_id)
    queue = Queue(service.queue_name, connection=job.connection)
    try:
        summary = execute_round(state, service, RoundProgress(job))
        summary["job_id"] = job.id
        state.record_round(summary)
        return summary
    finally:
        finish_round(state, queue)


def execute_round(state: ProjectState, service: ServiceSettings, progress: RoundProgress) -> dict[str, Any]:
    started = time.time()
    intent = take_intent(state)
    settings, target = state.settings(), state.target()
    client = label_studio_client(state, service)
    timings: dict[str, float] = {}

    progress("fetch")
    with _timed(timings, "fetch_s"):
        data = split_tasks(list(client.iter_tasks(state.project_id)), target, settings)
    logger.info("project %s: %d labeled, %d unlabeled, %d missing input",
                state.project_id, len(data.labeled), len(data.pool), len(data.missing_input))

    version = state.next_version()
    model_path = resolve_model_path(settings.model_name)
    registry = AdapterRegistry(service.model_dir / str(state.project_id))
    adapter, trained = registry.current(), None
    if intent.train and len(data.labeled) >= settings.min_labeled:
        progress("train", 0, len(data.labeled))
        with _timed(timings, "train_s"):
            adapter, trained = train_version(registry, version, model_path, data.labeled, settings, progress,
                                             precision=service.precision)
    elif intent.train:
        logger.info("project %s: %d labeled < min_labeled=%d, not training",
                    state.project_id, len(data.labeled), settings.min_labeled)

    predictions: dict[int, dict[str, Any]] = {}
    strategy_name, labelling = None, None
    prediction_version = version
    if data.pool:
        engine = engines.engine_for(
            service, model_path, adapter.path if adapter else None, system_prompt=settings.system_prompt
        )
        # Strategies share greedy generations through FEATURES; a fresh round must not reuse
        # another project's (the cache lives as long as the worker process).
        FEATURES.clear()
        strategy_name = settings.strategy if data.labeled else settings.ed_strategy
        # The project's generation length, so the strategy's generations double as the predictions.
        strategy = get_strategy_with_length(
            strategy_name, settings.strategy_params if data.labeled else {}, settings.max_new_tokens
        )
        progress("score", 0, len(data.pool))
        with _timed(timings, "score_s"):
            ranking = rank_pool(strategy, data.pool, labeled=data.labeled, model=engine, seed=settings.seed)

        progress("generate", 0, len(data.pool))
        with _timed(timings, "generate_s"):
            # Model-based strategies already generated these: the cache answers without the model.
            generations = FEATURES.greedy(engine, [ex.input for ex in data.pool], max_new_tokens=settings.max_new_tokens)
        scores = priority_scores(ranking)
        for ex, generation in zip(data.pool, generations, strict=True):
            predictions[ex.id] = {"text": generation.text, "score": scores[ex.id]}

        if settings.labeller != "none":
            progress("label", 0, settings.query_size)
            with _timed(timings, "label_s"):
                labelling = label_top_tasks(state, client, settings, target, engine, data, ranking, predictions,
                                            Queue(service.queue_name, connection=state.conn))
            if settings.mode == "review":
                # The version names the labeller whose answers the top tasks carry.
                prediction_version = f"{version}+{labelling.labeller}"

        progress("push", 0, len(predictions))
        with _timed(timings, "push_s"):
            client.push_predictions(state.project_id, [
                {"task": tid, "result": [target.result(p["text"])], "score": p["score"],
                 "model_version": prediction_version}
                for tid, p in predictions.items()
            ])
            client.order_queue(state.project_id, prediction_version)

    state.publish_version(prediction_version, predictions)
    summary = {
        "project": state.project_id,
        "version": prediction_version,
        "adapter": adapter.version if adapter else None,
        "reasons": list(intent.reasons),
        "labeled": len(data.labeled),
        "pool": len(data.pool),
        "missing_input": len(data.missing_input),
        "strategy": strategy_name,
        "trained": trained,
        "llm": labelling.summary() if labelling else None,
        "timings": timings,
        "duration_s": time.time() - started,
        "finished_at": time.time(),
    }
    progress("done", len(predictions), len(predictions))
    logger.info("project %s: round %s done in %.1fs", state.project_id, prediction_version, summary["duration_s"])
    return summary


def train_version(registry: AdapterRegistry, version: str, model_path: str, labeled: list[Example],
                  settings: ProjectSettings, progress: RoundProgress, precision: str = "auto",
                  ) -> tuple[AdapterVersion, dict[str, Any]]:
    """Train adapter ``version`` from the current one; it is published atomically, so a crash
    mid-training leaves the previous version current."""
    previous = registry.current()
    config = TrainConfig(epochs=settings.train_epochs, lr=settings.learning_rate, seed=settings.seed, precision=precision)
    with registry.writing(version) as folder:
        result = train_adapter(
            model_path, labeled, folder, config=config,
            init_adapter=str(previous.path) if previous else None,
            progress=lambda step, total, logs: progress("train", step, total),
            system_prompt=settings.system_prompt,
        )
    return registry.current(), {
        "train_count": result.n_train,
        "eval_count": result.n_eval,
        "eval_loss": result.eval_loss,
        "epochs": result.epochs_completed,
        "tokens_per_second": result.tokens_per_second,
        "precision": result.precision,
    }


def label_top_tasks(state: ProjectState, client: LabelStudioClient, settings: ProjectSettings,
                    target: GenerationTarget, engine, data: ProjectData, ranking: list,
                    predictions: dict[int, dict[str, Any]], queue: Queue) -> LabellingOutcome:
    """Send the strategy's top tasks to the project's labeller (review or auto mode)."""
    labeller = build_labeller(settings, state.conn, state.project_id, engine)
    outcome = LabellingOutcome(labeller=labeller.model_version, mode=settings.mode)
    by_id = {ex.id: ex for ex in data.pool}
    if settings.mode == "review":
        annotate(labeller, [by_id[i] for i in ranking[: settings.query_size]], data.labeled, outcome)
        for task_id, text in outcome.answers.items():
            predictions[task_id]["text"] = text
        return outcome

    labels_so_far = state.llm_labels()
    count, outcome.stop_reason = plan_auto_round(settings, labeller, labels_so_far)
    if outcome.stop_reason is None:
        answered = annotate(labeller, [by_id[i] for i in ranking[:count]], data.labeled, outcome)
        for ann in answered:
            if ann.ok:
                result = {**target.result(ann.text), "meta": llm_annotation_meta(ann, labeller.model_version)}
                client.create_annotation(ann.example_id, [result])
                predictions.pop(ann.example_id, None)  # labeled now: no longer in the queue
        labels = state.add_llm_labels(len(outcome.answers))
        outcome.stop_reason = stop_reason(auto_criterion(settings), auto_progress(labeller, labels, answered))
        if outcome.stop_reason is None and outcome.answers:
            # Keep the loop going: train on the new labels and label the next batch.
            request_round(state, queue, train=True, reason="auto mode")
    if outcome.stop_reason:
        logger.info("project %s: auto mode stopped: %s", state.project_id, outcome.stop_reason)
    return outcome


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.time()
    try:
        yield
    finally:
        timings[key] = time.time() - start


def label_studio_client(state: ProjectState, service: ServiceSettings) -> LabelStudioClient:
    """Environment settings win; otherwise what /setup carried (hostname, access token)."""
    stored = state.label_studio()
    return LabelStudioClient(
        service.label_studio_url or stored.get("url", ""),
        service.label_studio_api_key or stored.get("token", ""),
    )
