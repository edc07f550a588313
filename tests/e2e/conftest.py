"""A real Label Studio server and a real ATGen-LS backend (HTTP + RQ worker processes)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from backend.label_studio_server import LabelStudioServer

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not up after {timeout}s")


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    venv = Path(os.environ.get("ATGEN_LS_VENV") or REPO / ".venv-ls")
    server = LabelStudioServer(tmp_path_factory.mktemp("label-studio"), port=free_port(), venv=venv)
    server.start()
    yield server
    server.stop()


class Backend:
    """``atgen-ls serve`` in a subprocess (it spawns its own RQ worker)."""

    def __init__(self, tmp: Path, redis_url: str, label_studio: LabelStudioServer, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "backend.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "REDIS_URL": redis_url,
            "MODEL_DIR": str(tmp / "models"),
            "ATGEN_STATE_DIR": str(tmp / "state"),
            "LABEL_STUDIO_URL": label_studio.url,
            "LABEL_STUDIO_API_KEY": label_studio.token,
            "QUEUE_NAME": f"atgen-e2e-{self.port}",
            **env,
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve", "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
            )
        wait_for(f"{self.url}/health", self.process)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
