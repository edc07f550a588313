"""The RQ worker that runs rounds.

A :class:`rq.SimpleWorker` runs jobs in its own process instead of forking one per job, so
the base model and adapters loaded by one round stay in memory for the next.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys

from rq import SimpleWorker

from backend.redis_connection import connect
from backend.settings import ServiceSettings

logger = logging.getLogger(__name__)


def run_worker(service: ServiceSettings, burst: bool = False) -> None:
    conn, url = connect(service.redis_url, service.state_dir)
    logger.info("worker listening on queue %r at %s", service.queue_name, _redact(url))
    SimpleWorker([service.queue_name], connection=conn).work(burst=burst, logging_level="INFO")


def spawn_worker(redis_url: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``atgen-ls worker`` as a child process on ``redis_url``."""
    child_env = {**os.environ, **(env or {}), "REDIS_URL": redis_url}
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=child_env)


def _redact(url: str) -> str:
    """Never log a password that a Redis URL may carry."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
