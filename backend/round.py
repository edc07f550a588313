"""One active-learning round for one project: the RQ job behind the whole loop.

1. pull labeled tasks and the unlabeled pool from Label Studio;
2. train the LoRA adapter from the previous version (written atomically);
3. rank the pool with the project's strategy (an embedding-only one while nothing is labeled);
4. pre-annotate the pool with the current model, push one prediction per unlabeled task with
   the new model version and a score that puts the most informative task first;
5. make Label Studio's queue follow that version, record the round.
"""
from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from rq import Queue, get_current_job

from backend import engines
from backend.label_config import GenerationTarget, MissingInputError
from backend.label_studio_client import LabelStudioClient, TaskRecord
from backend.priority import priority_scores, rank_pool
from backend.project_state import ProjectState
from backend.scheduling import finish_round, take_intent
from backend.settings import ProjectSettings, ServiceSettings
from strategies import Strategy, get_strategy
from strategies.features import FEATURES
from training.adapters import AdapterRegistry
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
    t0 = time.time()
    data = split_tasks(list(client.iter_tasks(state.project_id)), target, settings)
    timings["fetch_s"] = time.time() - t0
    logger.info("project %s: %d labeled, %d unlabeled, %d missing input",
                state.project_id, len(data.labeled), len(data.pool), len(data.missing_input))

    version = state.next_version()
    model_path = resolve_model_path(settings.model_name)
    registry = AdapterRegistry(service.model_dir / str(state.project_id))
    adapter = registry.current()
    trained: dict[str, Any] | None = None
    if intent.train and len(data.labeled) >= settings.min_labeled:
        progress("train", 0, len(data.labeled))
        t0 = time.time()
        config = TrainConfig(epochs=settings.train_epochs, lr=settings.learning_rate, seed=settings.seed)
        with registry.writing(version) as folder:
            result = train_adapter(
                model_path,
                data.labeled,
                folder,
                config=config,
                init_adapter=str(adapter.path) if adapter else None,
                progress=lambda step, total, logs: progress("train", step, total),
                system_prompt=settings.system_prompt,
            )
        adapter = registry.current()
        trained = {
            "train_count": result.n_train,
            "eval_count": result.n_eval,
            "eval_loss": result.eval_loss,
            "epochs": result.epochs_completed,
            "tokens_per_second": result.tokens_per_second,
        }
        timings["train_s"] = time.time() - t0
    elif intent.train:
        logger.info("project %s: %d labeled < min_labeled=%d, not training",
                    state.project_id, len(data.labeled), settings.min_labeled)

    predictions: dict[int, dict[str, Any]] = {}
    if data.pool:
        engine = engines.engine_for(
            service.engine, model_path, adapter.path if adapter else None, system_prompt=settings.system_prompt
        )
        # Strategies share greedy generations through FEATURES; a fresh round must not reuse
        # another project's (the cache lives as long as the worker process).
        FEATURES.clear()
        strategy_name = settings.strategy if data.labeled else settings.ed_strategy
        strategy = build_strategy(strategy_name, settings.strategy_params if data.labeled else {}, settings)
        progress("score", 0, len(data.pool))
        t0 = time.time()
        ranking = rank_pool(strategy, data.pool, labeled=data.labeled, model=engine, seed=settings.seed)
        timings["score_s"] = time.time() - t0

        progress("generate", 0, len(data.pool))
        t0 = time.time()
        # Model-based strategies already generated these: the cache answers without the model.
        generations = FEATURES.greedy(engine, [ex.input for ex in data.pool], max_new_tokens=settings.max_new_tokens)
        timings["generate_s"] = time.time() - t0
        scores = priority_scores(ranking)
        for ex, generation in zip(data.pool, generations, strict=True):
            predictions[ex.id] = {"text": generation.text, "score": scores[ex.id]}

        progress("push", 0, len(predictions))
        t0 = time.time()
        client.push_predictions(
            state.project_id,
            [
                {"task": tid, "result": [target.result(p["text"])], "score": p["score"], "model_version": version}
                for tid, p in predictions.items()
            ],
        )
        client.order_queue(state.project_id, version)
        timings["push_s"] = time.time() - t0
        strategy_used = strategy_name
    else:
        strategy_used = None

    state.publish_version(version, predictions)
    summary = {
        "project": state.project_id,
        "version": version,
        "adapter": adapter.version if adapter else None,
        "reasons": list(intent.reasons),
        "labeled": len(data.labeled),
        "pool": len(data.pool),
        "missing_input": len(data.missing_input),
        "strategy": strategy_used,
        "trained": trained,
        "timings": timings,
        "duration_s": time.time() - started,
        "finished_at": time.time(),
    }
    progress("done", len(predictions), len(predictions))
    logger.info("project %s: round %s done in %.1fs", state.project_id, version, summary["duration_s"])
    return summary


def build_strategy(name: str, params: dict[str, Any], settings: ProjectSettings) -> Strategy:
    """The strategy, generating with the project's ``max_new_tokens`` unless its params say
    otherwise, so its generations double as the round's predictions."""
    params = dict(params)
    if "max_new_tokens" in inspect.signature(type(get_strategy(name))).parameters:
        params.setdefault("max_new_tokens", settings.max_new_tokens)
    return get_strategy(name, **params)


def label_studio_client(state: ProjectState, service: ServiceSettings) -> LabelStudioClient:
    """Environment settings win; otherwise what /setup carried (hostname, access token)."""
    stored = state.label_studio()
    return LabelStudioClient(
        service.label_studio_url or stored.get("url", ""),
        service.label_studio_api_key or stored.get("token", ""),
    )
