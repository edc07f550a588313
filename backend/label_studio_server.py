"""Start a real Label Studio server from its own virtual environment (demo and e2e tests).

Label Studio pins old openai/redis/rq, so it lives in ``.venv-ls`` (``make install-ls``),
runs on loopback with SQLite, and is configured entirely through environment variables.
"""
from __future__ import annotations

import logging
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

logger = logging.getLogger(__name__)


class LabelStudioStartError(RuntimeError):
    """Label Studio did not come up; the message carries the end of its log."""


def find_label_studio(venv: str | Path | None = None) -> Path:
    """The ``label-studio`` executable: ``$ATGEN_LS_VENV/bin`` or ``./.venv-ls/bin``."""
    venv = Path(venv or os.environ.get("ATGEN_LS_VENV") or ".venv-ls")
    exe = venv / "bin" / "label-studio"
    if not exe.exists():
        raise FileNotFoundError(f"no Label Studio at {exe}; run `make install-ls` (or set ATGEN_LS_VENV)")
    return exe


@dataclass
class LabelStudioServer:
    data_dir: Path
    port: int = 8080
    username: str = "admin@atgen.local"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = field(default_factory=lambda: secrets.token_hex(20))
    venv: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "LABEL_STUDIO_USERNAME": self.username,
            "LABEL_STUDIO_PASSWORD": self.password,
            "LABEL_STUDIO_USER_TOKEN": self.token,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            # Loopback backends and webhooks are blocked by default.
            "ML_BLOCK_LOCAL_IP": "false",
            "SSRF_PROTECTION_ENABLED": "false",
            "LATEST_VERSION_CHECK": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
            "HOME": str(self.data_dir),  # it writes ~/.config/label-studio/user_id
        }

    def start(self, timeout: float = 600.0) -> LabelStudioServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        exe = find_label_studio(self.venv)
        with open(self.data_dir / "label-studio.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(self.port),
                 "--data-dir", str(self.data_dir)],
                env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise LabelStudioStartError(f"Label Studio exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).json().get("status") == "UP":
                    logger.info("Label Studio is up at %s", self.url)
                    return self
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        self.stop()
        raise LabelStudioStartError(f"Label Studio not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.data_dir / "label-studio.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
