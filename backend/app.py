"""The HTTP service: the Label Studio ML backend protocol, spoken directly.

Routes: ``GET /`` and ``/health``, ``POST /setup``, ``POST /predict``, ``POST /webhook``,
``GET /metrics``. Webhooks only record events and request rounds; training and every call
to Label Studio happen in the RQ worker, so each request answers in milliseconds.
"""
from __future__ import annotations

import base64
import hmac
import logging
import threading
import time
from typing import Any

import redis
from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rq import Queue, Worker
from werkzeug.exceptions import BadRequest, HTTPException

from backend import engines
from backend.label_config import LabelConfigError, MissingInputError, parse_generation_target
from backend.metrics import AppMetrics
from backend.project_state import ProjectState, known_projects
from backend.scheduling import request_round
from backend.settings import ProjectSettings, ServiceSettings, SettingsError

logger = logging.getLogger(__name__)

MODEL_CLASS = "ATGenLS"
BASE_VERSION = "atgen-base"
ANNOTATION_ACTIONS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"}


class RequestError(Exception):
    """A request the backend cannot act on; becomes HTTP ``status`` with ``message``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def create_app(service: ServiceSettings | None = None, conn: redis.Redis | None = None) -> Flask:
    service = service or ServiceSettings.from_env()
    if conn is None:
        from backend.redis_connection import connect

        conn, _ = connect(service.redis_url, service.state_dir)
    queue = Queue(service.queue_name, connection=conn)
    metrics = AppMetrics(conn, queue)
    predict_lock = threading.Lock()

    app = Flask("atgen_ls")
    app.config.update(SERVICE=service, REDIS=conn, QUEUE=queue)

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        if service.basic_auth_user and not _authorized(service):
            return Response("authentication required", 401, {"WWW-Authenticate": 'Basic realm="atgen-ls"'})
        return None

    @app.after_request
    def _observe(response):
        route = request.url_rule.rule if request.url_rule else "unknown"
        metrics.requests.labels(route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.errorhandler(RequestError)
    def _request_error(exc: RequestError):
        logger.warning("%s %s -> %d: %s", request.method, request.path, exc.status, exc)
        return jsonify({"status": "error", "message": str(exc)}), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return jsonify({"status": "error", "message": exc.description}), exc.code

    @app.get("/")
    @app.get("/health")
    def health():
        try:
            conn.ping()
            redis_ok = True
            workers = Worker.count(queue=queue)
            states = [ProjectState(conn, p) for p in known_projects(conn)]
            projects = {str(s.project_id): s.model_version() or BASE_VERSION for s in states}
            rounds = {str(s.project_id): s.rounds_total() for s in states}
            trained = {str(s.project_id): s.adapter_rounds() for s in states}
        except redis.RedisError as exc:
            logger.error("Redis unreachable: %s", exc)
            redis_ok, workers, projects, rounds, trained = False, 0, {}, {}, {}
        return jsonify({
            "status": "UP",
            "model_class": MODEL_CLASS,
            "model_versions": projects,
            "rounds_completed": rounds,
            "training_rounds_completed": trained,
            "redis": redis_ok,
            "workers": workers,
            "queue_depth": queue.count if redis_ok else None,
        })

    @app.post("/setup")
    def setup():
        payload = _json_object()
        project_id = _project_id(payload.get("project"))
        state = ProjectState(conn, project_id)
        first_time = not state.is_set_up()
        settings, target = _configure(state, payload.get("schema") or payload.get("label_config"),
                                      payload.get("extra_params"), payload.get("hostname"),
                                      payload.get("access_token"))
        if first_time:
            # Experimental design: order the queue before anyone labels anything.
            request_round(state, queue, train=False, reason="setup")
        logger.info("project %s set up: strategy=%s target=%s<-%s", project_id, settings.strategy,
                    target.from_name, target.input_field)
        return jsonify({"model_version": state.model_version() or BASE_VERSION})

    @app.post("/webhook")
    def webhook():
        payload = _json_object()
        action = payload.get("action")
        if not isinstance(action, str):
            raise RequestError("webhook payload has no 'action'")
        if action not in ANNOTATION_ACTIONS | {"START_TRAINING", "TASKS_CREATED"}:
            return jsonify({"status": "ignored", "reason": f"action {action} not used"})
        project_id = _webhook_project(payload)
        if project_id is None:
            logger.info("webhook %s without a project ignored", action)
            return jsonify({"status": "ignored", "reason": "no project"})
        state = ProjectState(conn, project_id)
        if not state.is_set_up():
            return jsonify({"status": "ignored", "reason": f"project {project_id} is not connected"})
        if action == "START_TRAINING":
            job_id, new = request_round(state, queue, train=True, reason="START_TRAINING")
            return jsonify({"status": "queued" if new else "coalesced", "job_id": job_id})
        if action == "TASKS_CREATED":
            job_id, new = request_round(state, queue, train=False, reason="TASKS_CREATED")
            return jsonify({"status": "queued" if new else "coalesced", "job_id": job_id})
        if not state.record_event(_event_key(action, payload)):
            return jsonify({"status": "duplicate"})
        count = state.count_new_annotation()
        settings = state.settings()
        if count < settings.retrain_every:
            return jsonify({"status": "recorded", "new_annotations": count, "retrain_every": settings.retrain_every})
        job_id, new = request_round(state, queue, train=True, reason=f"{count} new annotations")
        return jsonify({"status": "queued" if new else "coalesced", "job_id": job_id, "new_annotations": count})

    @app.post("/predict")
    def predict():
        payload = _json_object()
        tasks = payload.get("tasks")
        if not isinstance(tasks, list):
            raise RequestError("predict payload needs a 'tasks' list")
        project_id = _project_id(payload.get("project") or (tasks[0].get("project") if tasks and isinstance(tasks[0], dict) else None))
        state = ProjectState(conn, project_id)
        if payload.get("label_config") and not state.is_set_up():
            _configure(state, payload["label_config"], None, None, None)
        settings, target = state.settings(), state.target()
        version = state.model_version() or BASE_VERSION
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        ids = [t.get("id") if isinstance(t, dict) else None for t in tasks]
        cached = state.cached_predictions(version, [i for i in ids if i is not None])
        cached_by_id = dict(zip([i for i in ids if i is not None], cached, strict=True))
        missing: list[tuple[int, str]] = []
        for pos, task in enumerate(tasks):
            hit = cached_by_id.get(ids[pos])
            if hit is not None:
                results[pos] = _prediction(target, hit["text"], hit["score"], version)
                continue
            try:
                prompt = target.prompt((task or {}).get("data") or {}, max_chars=settings.max_input_chars)
            except MissingInputError as exc:
                logger.warning("predict: task %s: %s; returning an empty result", ids[pos], exc)
                results[pos] = {"result": [], "score": 1.0, "model_version": version}
                continue
            missing.append((pos, prompt))
        if missing:
            with predict_lock:
                texts = _generate(service, state, settings, [p for _, p in missing])
            for (pos, _), text in zip(missing, texts, strict=True):
                # Not ranked by a round yet: served after every ranked task.
                results[pos] = _prediction(target, text, 1.0, version)
                if ids[pos] is not None:
                    state.cache_prediction(version, ids[pos], {"text": text, "score": 1.0})
        return jsonify({"results": results, "model_version": version})

    @app.get("/metrics")
    def prometheus_metrics():
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    return app


def _configure(state: ProjectState, schema, extra_params, hostname, access_token):
    if not isinstance(schema, str) or not schema.strip():
        raise RequestError("missing labeling config ('schema'): it needs a <TextArea> pointing at a <Text> object")
    try:
        target = parse_generation_target(schema)
    except LabelConfigError as exc:
        raise RequestError(str(exc)) from None
    try:
        settings = ProjectSettings.from_sources(extra_params=extra_params)
    except SettingsError as exc:
        raise RequestError(str(exc)) from None
    state.save_setup(settings, target, hostname or None, access_token or None)
    return settings, target


def _generate(service: ServiceSettings, state: ProjectState, settings: ProjectSettings, prompts: list[str]) -> list[str]:
    from training.adapters import AdapterRegistry
    from training.models import resolve_model_path

    adapter = AdapterRegistry(service.model_dir / str(state.project_id)).current()
    engine = engines.engine_for(
        service, resolve_model_path(settings.model_name), adapter.path if adapter else None,
        system_prompt=settings.system_prompt,
    )
    return [gens[0].text for gens in engine.generate(prompts, max_new_tokens=settings.max_new_tokens)]


def _prediction(target, text: str, score: float, version: str) -> dict[str, Any]:
    return {"result": [target.result(text)], "score": score, "model_version": version}


def _json_object() -> dict[str, Any]:
    try:
        payload = request.get_json(force=True, silent=False)
    except BadRequest:
        raise RequestError("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise RequestError(f"request body must be a JSON object, got {type(payload).__name__}")
    return payload


def _project_id(raw: Any) -> int:
    """Label Studio sends ``"<id>.<timestamp>"`` to /setup and /predict, an int elsewhere."""
    if isinstance(raw, dict):
        raw = raw.get("id")
    try:
        return int(str(raw).split(".")[0])
    except (TypeError, ValueError):
        raise RequestError(f"cannot read a project id from {raw!r}") from None


def _webhook_project(payload: dict[str, Any]) -> int | None:
    for candidate in (payload.get("project"), (payload.get("task") or {}).get("project"),
                      (payload.get("annotation") or {}).get("project")):
        if candidate not in (None, ""):
            return _project_id(candidate)
    return None


def _event_key(action: str, payload: dict[str, Any]) -> str:
    """Identity of a webhook event: the same event delivered twice has the same key."""
    if action == "ANNOTATIONS_DELETED":
        ids = sorted(str(a.get("id")) for a in payload.get("annotations") or [] if isinstance(a, dict))
        return f"deleted:{','.join(ids)}"
    annotation = payload.get("annotation") or {}
    if not isinstance(annotation, dict) or annotation.get("id") is None:
        raise RequestError(f"{action} webhook has no annotation id")
    if action == "ANNOTATION_CREATED":
        return f"created:{annotation['id']}"
    return f"updated:{annotation['id']}:{annotation.get('updated_at', '')}"


def _authorized(service: ServiceSettings) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    # Both comparisons always run: timing reveals neither which part nor how much matched.
    user_ok = hmac.compare_digest(user.encode(), (service.basic_auth_user or "").encode())
    pass_ok = hmac.compare_digest(password.encode(), (service.basic_auth_pass or "").encode())
    return user_ok and pass_ok
