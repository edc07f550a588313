"""Run the app under a production WSGI server (waitress) with a worker beside it."""
from __future__ import annotations

import logging
import signal
import subprocess

from waitress import serve as waitress_serve

from backend.app import create_app
from backend.redis_connection import connect
from backend.settings import ServiceSettings
from backend.worker import spawn_worker

logger = logging.getLogger(__name__)


def serve(service: ServiceSettings, *, host: str, port: int, threads: int = 8, with_worker: bool = True) -> None:
    conn, url = connect(service.redis_url, service.state_dir)
    # SIGTERM (docker stop, a supervisor) must unwind through `finally`, or the worker is orphaned.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    worker = spawn_worker(url) if with_worker else None
    try:
        app = create_app(service, conn)
        logger.info("ATGen-LS backend on http://%s:%d (worker: %s)", host, port, "yes" if worker else "external")
        waitress_serve(app, host=host, port=port, threads=threads, ident="atgen-ls")
    finally:
        if worker is not None:
            worker.terminate()  # RQ's warm shutdown: the round in progress may finish first
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)
