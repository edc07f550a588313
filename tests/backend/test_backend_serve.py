"""`atgen-ls serve` as a user runs it: embedded Redis by default, one worker, clean shutdown."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import free_port, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_serve_without_redis_url_uses_embedded_redis_and_stops_its_worker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(ATGEN_STATE_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
                                 env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", serve)
        deadline = time.time() + 60
        while time.time() < deadline and requests.get(f"http://127.0.0.1:{port}/health").json()["workers"] < 1:
            time.sleep(0.5)
        health = requests.get(f"http://127.0.0.1:{port}/health").json()
        assert health["redis"] is True and health["workers"] == 1
        assert "started embedded Redis" in (tmp_path / "serve.log").read_text()  # what the user is told
        workers = [c for c in children(serve.pid) if "backend.cli" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(workers) == 1
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        deadline = time.time() + 30
        while time.time() < deadline and alive(workers[0]):
            time.sleep(0.2)
        assert not alive(workers[0]), "the worker outlived `atgen-ls serve`"
    finally:
        if serve.poll() is None:  # a failed assertion: still stop the worker with it
            serve.terminate()
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                serve.kill()
