"""Ledger and answer cache in a real Redis (127.0.0.1:6379), shared by several processes' objects."""
import uuid

import pytest
import redis

from labellers import open_cache, open_ledger
from labellers.cache import CachedAnswer

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_prefix():
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"test-labellers-{uuid.uuid4().hex}"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_redis_ledger_is_shared_and_survives_a_restart(redis_prefix):
    client, prefix = redis_prefix
    worker_a = open_ledger(redis=client, key=f"{prefix}:spent")
    worker_b = open_ledger(redis=client, key=f"{prefix}:spent")
    worker_a.reserve(400, budget_units=1000).settle(400)
    assert worker_b.spent_units == 400
    # The other worker's spend counts against the cap.
    assert worker_b.reserve(700, budget_units=1000) is None
    worker_b.reserve(600, budget_units=1000).settle(600)
    assert open_ledger(redis=client, key=f"{prefix}:spent").spent_units == 1000


def test_redis_answer_cache(redis_prefix):
    client, prefix = redis_prefix
    cache = open_cache(redis=client, key=f"{prefix}:answers")
    cache.put("k", CachedAnswer("text", "model", 5, 2, 0.25))
    assert open_cache(redis=client, key=f"{prefix}:answers").get("k") == CachedAnswer("text", "model", 5, 2, 0.25)
    cache.set_pending_batch("b", "msgbatch_1")
    assert cache.get_pending_batch("b") == "msgbatch_1"
    cache.set_pending_batch("b", None)
    assert cache.get_pending_batch("b") is None
    assert cache.get("missing") is None


def test_redis_store_needs_a_key(redis_prefix):
    client, _ = redis_prefix
    with pytest.raises(ValueError, match="needs a key"):
        open_ledger(redis=client)
