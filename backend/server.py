"""Run the app under a production WSGI server (waitress) with a worker beside it."""
from __future__ import annotations

import logging

from waitress import serve as waitress_serve

from backend.app import create_app
from backend.redis_connection import connect
from backend.settings import ServiceSettings
from backend.worker import spawn_worker

logger = logging.getLogger(__name__)


def serve(service: ServiceSettings, *, host: str, port: int, threads: int = 8, with_worker: bool = True) -> None:
    conn, url = connect(service.redis_url, service.state_dir)
    worker = spawn_worker(url) if with_worker else None
    try:
        app = create_app(service, conn)
        logger.info("ATGen-LS backend on http://%s:%d (worker: %s)", host, port, "yes" if worker else "external")
        waitress_serve(app, host=host, port=port, threads=threads, ident="atgen-ls")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
