"""``atgen-ls demo``: Label Studio + the backend + a sample project, ready to label.

Starts a local Label Studio (from ``.venv-ls``), the backend with its worker, creates a
project from a shipped template with its sample tasks, connects the backend, submits a few
sample annotations so the first training round runs, and prints where to open it.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests
from label_studio_sdk import LabelStudio

import label_studio_templates
from backend.label_config import parse_generation_target
from backend.label_studio_server import LabelStudioServer
from backend.settings import ServiceSettings

logger = logging.getLogger(__name__)


def _credentials(folder: Path) -> dict[str, str]:
    """Reuse the demo's credentials across runs (Label Studio keeps its database)."""
    path = folder / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {"username": "admin@atgen.local", "password": secrets.token_urlsafe(10), "token": secrets.token_hex(20)}
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(creds))
    path.chmod(0o600)
    return creds


def _wait_for_backend(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the backend exited with {process.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"backend not up at {url} after {timeout}s")


def _wait_for_training_round(backend_url: str, project_id: int, timeout: float = 1800) -> None:
    """Block until the project has had a round that trained an adapter."""
    started = time.time()
    while time.time() - started < timeout:
        health = requests.get(f"{backend_url}/health", timeout=5).json()
        if health["training_rounds_completed"].get(str(project_id), 0) >= 1:
            print(f"Training round done after {time.time() - started:.0f} s.", flush=True)
            return
        time.sleep(2)
    raise TimeoutError(f"no training round within {timeout:.0f} s")


def run_demo(service: ServiceSettings, *, template: str, ls_port: int, port: int, annotate: int,
             exit_after_round: bool = False) -> int:
    folder = service.state_dir / "demo"
    creds = _credentials(folder)
    config = label_studio_templates.load_template(template)
    target = parse_generation_target(config)
    server = LabelStudioServer(folder / "label-studio", port=ls_port, username=creds["username"],
                               password=creds["password"], token=creds["token"])
    print(f"Starting Label Studio on {server.url} (first start takes ~30 s) ...", flush=True)
    server.start()
    backend_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LABEL_STUDIO_URL": server.url, "LABEL_STUDIO_API_KEY": creds["token"],
           "ATGEN_STATE_DIR": str(service.state_dir)}
    backend = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env)
    try:
        _wait_for_backend(backend_url, backend)
        ls = LabelStudio(base_url=server.url, api_key=creds["token"])
        title = f"ATGen-LS demo: {template.replace('_', ' ')}"
        project = next((p for p in ls.projects.list() if p.title == title), None)
        if project is None:
            project = ls.projects.create(title=title, label_config=config)
            tasks = label_studio_templates.sample_tasks(template)
            ls.projects.import_tasks(id=project.id, request=tasks)
            ls.ml.create(project=project.id, url=backend_url, title="ATGen-LS")
            # A few labels (the sample tasks carry reference answers) so a training round runs.
            for task in list(ls.tasks.list(project=project.id))[:annotate]:
                reference = task.data.get("reference")
                if reference:
                    ls.annotations.create(id=task.id, result=[target.result(reference)])
            print(f"Created project {project.id} with {len(tasks)} tasks and {annotate} sample labels.")
        print(
            "\nATGen-LS demo is running.\n"
            f"  Label Studio: {server.url}/projects/{project.id}/data  (user {creds['username']}, "
            f"password {creds['password']})\n"
            f"  Backend:      {backend_url}/health   metrics: {backend_url}/metrics\n"
            "Label tasks with 'Label All Tasks': the queue follows the strategy's ranking and the model\n"
            "retrains in the background. Press Ctrl-C to stop.",
            flush=True,
        )
        if exit_after_round:
            _wait_for_training_round(backend_url, project.id)
            return 0
        while backend.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        backend.terminate()
        backend.wait(timeout=30)
        server.stop()
    return 0
