"""Per-project state kept in Redis, shared by the web app and the workers.

Label Studio stays the source of truth for labels; Redis holds only what the service needs
to decide *when* to run a round and what to serve: settings, the current model version,
seen webhook events (for idempotency), pending intents, and cached predictions.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import redis

from backend.label_config import GenerationTarget
from backend.settings import ProjectSettings

PROJECTS_KEY = "atgen:projects"
# Webhook event keys are remembered this long: replays after that are still harmless,
# because a round re-reads annotations from Label Studio, but would count toward retraining.
EVENT_TTL_S = 7 * 24 * 3600


class ProjectNotSetUp(LookupError):
    """A request names a project that never went through /setup."""


class ProjectState:
    def __init__(self, conn: redis.Redis, project_id: int):
        self.conn = conn
        self.project_id = int(project_id)
        self.prefix = f"atgen:p:{self.project_id}:"

    def key(self, name: str) -> str:
        return self.prefix + name

    # --- set-up -----------------------------------------------------------------------
    def save_setup(
        self, settings: ProjectSettings, target: GenerationTarget, ls_url: str | None, ls_token: str | None
    ) -> None:
        pipe = self.conn.pipeline()
        pipe.set(self.key("settings"), settings.to_json())
        pipe.set(self.key("target"), json.dumps(asdict(target)))
        connection = {k: v for k, v in (("url", ls_url), ("token", ls_token)) if v}
        if connection:
            pipe.hset(self.key("label_studio"), mapping=connection)
        pipe.sadd(PROJECTS_KEY, self.project_id)
        pipe.execute()

    def is_set_up(self) -> bool:
        return bool(self.conn.exists(self.key("settings")))

    def settings(self) -> ProjectSettings:
        raw = self.conn.get(self.key("settings"))
        if raw is None:
            raise ProjectNotSetUp(f"project {self.project_id} has not been set up (Label Studio calls /setup first)")
        return ProjectSettings.from_json(raw)

    def target(self) -> GenerationTarget:
        raw = self.conn.get(self.key("target"))
        if raw is None:
            raise ProjectNotSetUp(f"project {self.project_id} has not been set up (Label Studio calls /setup first)")
        data = json.loads(raw)
        data["context_fields"] = tuple(data.get("context_fields", ()))
        return GenerationTarget(**data)

    def label_studio(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.conn.hgetall(self.key("label_studio")).items()}

    # --- model versions ------------------------------------------------------------------
    def model_version(self) -> str | None:
        raw = self.conn.get(self.key("version"))
        return raw.decode() if raw else None

    def next_version(self) -> str:
        return f"atgen-v{self.conn.incr(self.key('round_no'))}"

    def publish_version(self, version: str, predictions: dict[Any, dict[str, Any]]) -> None:
        """Make ``version`` current and cache its predictions (task id -> {text, score})."""
        pipe = self.conn.pipeline()
        cache_key = self.key(f"predictions:{version}")
        pipe.delete(cache_key)
        if predictions:
            pipe.hset(cache_key, mapping={str(t): json.dumps(p) for t, p in predictions.items()})
        old = self.model_version()
        pipe.set(self.key("version"), version)
        if old and old != version:
            pipe.delete(self.key(f"predictions:{old}"))
        pipe.execute()

    def cached_predictions(self, version: str, task_ids: Iterable[Any]) -> list[dict[str, Any] | None]:
        ids = [str(t) for t in task_ids]
        if not ids:
            return []
        raw = self.conn.hmget(self.key(f"predictions:{version}"), ids)
        return [json.loads(r) if r else None for r in raw]

    def cache_prediction(self, version: str, task_id: Any, prediction: dict[str, Any]) -> None:
        self.conn.hset(self.key(f"predictions:{version}"), str(task_id), json.dumps(prediction))

    # --- webhook events ------------------------------------------------------------------
    def record_event(self, event_key: str) -> bool:
        """True the first time ``event_key`` is seen; replays return False."""
        return bool(self.conn.set(self.key(f"event:{event_key}"), 1, nx=True, ex=EVENT_TTL_S))

    def count_new_annotation(self) -> int:
        return int(self.conn.incr(self.key("new_annotations")))

    def new_annotations(self) -> int:
        return int(self.conn.get(self.key("new_annotations")) or 0)

    # --- LLM labelling ---------------------------------------------------------------------
    def llm_labels(self) -> int:
        """Annotations auto mode has created so far."""
        return int(self.conn.get(self.key("llm-labels")) or 0)

    def add_llm_labels(self, n: int) -> int:
        return int(self.conn.incrby(self.key("llm-labels"), n))

    # --- rounds --------------------------------------------------------------------------
    def record_round(self, summary: dict[str, Any]) -> None:
        pipe = self.conn.pipeline()
        pipe.rpush(self.key("rounds"), json.dumps(summary))
        pipe.ltrim(self.key("rounds"), -100, -1)
        pipe.incr(self.key("rounds_total"))
        if summary.get("trained"):
            pipe.incr(self.key("training_rounds_total"))
        pipe.execute()

    def adapter_rounds(self) -> int:
        """Completed rounds that trained a new adapter version."""
        return int(self.conn.get(self.key("training_rounds_total")) or 0)

    def rounds_total(self) -> int:
        return int(self.conn.get(self.key("rounds_total")) or 0)

    def rounds(self) -> list[dict[str, Any]]:
        """The last 100 round summaries, oldest first."""
        return [json.loads(r) for r in self.conn.lrange(self.key("rounds"), 0, -1)]


def known_projects(conn: redis.Redis) -> list[int]:
    return sorted(int(p) for p in conn.smembers(PROJECTS_KEY))
