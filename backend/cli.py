"""``atgen-ls``: serve the backend, run workers, run the demo or the benchmark."""
from __future__ import annotations

import argparse
import logging
import sys

from backend.settings import ServiceSettings, SettingsError

logger = logging.getLogger("atgen_ls")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="atgen-ls", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the ML backend (HTTP) and one RQ worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9090)
    serve.add_argument("--threads", type=int, default=8)
    serve.add_argument("--no-worker", action="store_true", help="run workers separately (atgen-ls worker)")

    worker = sub.add_parser("worker", help="run an RQ worker that executes rounds (uses REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")

    demo = sub.add_parser("demo", help="start Label Studio with a sample project connected to the backend")
    demo.add_argument("--template", default="question_answering")
    demo.add_argument("--ls-port", type=int, default=8080)
    demo.add_argument("--port", type=int, default=9090)
    demo.add_argument("--annotate", type=int, default=6, help="sample annotations to submit so a round trains")
    demo.add_argument("--exit-after-round", action="store_true", help="stop once the first training round is done")

    bench = sub.add_parser("bench", help="simulated active-learning benchmark")
    try:
        from benchmarks.cli import add_bench_arguments
    except ImportError:  # the harness is optional in a trimmed install
        add_bench_arguments = None
    if add_bench_arguments is not None:
        add_bench_arguments(bench)

    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per HTTP call to Label Studio drowns what the service itself says.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        service = ServiceSettings.from_env()
    except SettingsError as exc:
        parser.error(str(exc))

    if args.command == "serve":
        from backend.server import serve as run_server

        run_server(service, host=args.host, port=args.port, threads=args.threads, with_worker=not args.no_worker)
    elif args.command == "worker":
        from backend.worker import run_worker

        run_worker(service, burst=args.burst)
    elif args.command == "demo":
        from backend.demo import run_demo

        return run_demo(service, template=args.template, ls_port=args.ls_port, port=args.port,
                        annotate=args.annotate, exit_after_round=args.exit_after_round)
    elif args.command == "bench":
        if add_bench_arguments is None:
            parser.error("the benchmark harness (benchmarks/) is not installed")
        from benchmarks.cli import run_bench

        return run_bench(args) or 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
