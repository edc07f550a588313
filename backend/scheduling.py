"""When rounds run: at most one queued-or-running round per project.

Webhooks only *request* a round. Requests are folded into a per-project intent record in
Redis; if a round is already queued, the request joins it, and if one is running, the
intent waits and exactly one follow-up round is enqueued when it finishes. A storm of 500
annotations therefore gives one or two rounds, never 500, and because a round re-reads
Label Studio, the follow-up sees every annotation that arrived meanwhile.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from backend.project_state import ProjectState

logger = logging.getLogger(__name__)

ROUND_FUNCTION = "backend.round.run_round"
ACTIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
ROUND_TIMEOUT_S = 6 * 3600


@dataclass(frozen=True)
class Intent:
    """What the next round of a project must do."""

    train: bool
    reasons: tuple[str, ...]


def _lock(state: ProjectState):
    return state.conn.lock(state.key("schedule-lock"), timeout=30, blocking_timeout=30)


def _active_job(state: ProjectState) -> Job | None:
    job_id = state.conn.get(state.key("round-job"))
    if not job_id:
        return None
    try:
        job = Job.fetch(job_id.decode(), connection=state.conn)
    except NoSuchJobError:
        return None
    return job if job.get_status(refresh=True) in ACTIVE_STATUSES else None


def request_round(state: ProjectState, queue: Queue, *, train: bool, reason: str) -> tuple[str, bool]:
    """Ask for a round; returns (job id, True if a new job was enqueued)."""
    with _lock(state):
        pipe = state.conn.pipeline()
        if train:
            pipe.hset(state.key("intent"), "train", 1)
        pipe.hsetnx(state.key("intent"), "train", 0)
        pipe.sadd(state.key("intent-reasons"), reason)
        pipe.execute()
        active = _active_job(state)
        if active is not None:
            logger.info("project %s: round %s already %s; request (%s) coalesced",
                        state.project_id, active.id, active.get_status(), reason)
            return active.id, False
        return _enqueue(state, queue), True


def take_intent(state: ProjectState) -> Intent:
    """Called by a starting round: consume the pending intent (requests after this point
    schedule a follow-up round)."""
    with _lock(state):
        pipe = state.conn.pipeline()
        pipe.hget(state.key("intent"), "train")
        pipe.smembers(state.key("intent-reasons"))
        pipe.delete(state.key("intent"), state.key("intent-reasons"))
        pipe.set(state.key("new_annotations"), 0)
        train, reasons, *_ = pipe.execute()
    return Intent(train=train == b"1", reasons=tuple(sorted(r.decode() for r in reasons)))


def finish_round(state: ProjectState, queue: Queue) -> str | None:
    """Called when a round ends (success or failure): enqueue one follow-up if requests
    arrived while it ran. Returns the follow-up's job id."""
    with _lock(state):
        state.conn.delete(state.key("round-job"))
        if not state.conn.exists(state.key("intent")):
            return None
        return _enqueue(state, queue)


def _enqueue(state: ProjectState, queue: Queue) -> str:
    job = queue.enqueue(
        ROUND_FUNCTION,
        state.project_id,
        job_timeout=ROUND_TIMEOUT_S,
        result_ttl=7 * 24 * 3600,
        failure_ttl=7 * 24 * 3600,
        description=f"AL round for project {state.project_id}",
    )
    state.conn.set(state.key("round-job"), job.id)
    logger.info("project %s: enqueued round %s", state.project_id, job.id)
    return job.id
