"""Throughput of the synchronous labeller path with concurrency, and batch vs sync cost.

A local server speaking the OpenAI API (the fake the tests use) adds a fixed latency to each
chat completion; the ``openai`` labeller annotates the same examples with concurrency 1 and N
through the official SDK. Then the Batch API path does the same work and the cost ratio
batch/sync is printed (the Batch API bills half price).

Run from the repository root:
    HF_HUB_OFFLINE=1 python benchmarks/labellers_throughput.py --requests 48 --latency 0.2
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from pytest_httpserver import HTTPServer

# The OpenAI wire-format fake lives with the tests; the benchmark drives the same server.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "labellers"))
from labellers_fake_servers import FakeOpenAI  # noqa: E402

from labellers import get_labeller, open_cache  # noqa: E402
from training.example import Example  # noqa: E402

PRICE = (0.15, 0.60)  # gpt-4o-mini list price, USD per 1M tokens


def make_labeller(fake: FakeOpenAI, **params):
    return get_labeller(
        "openai", model="gpt-4o-mini", api_key="sk-test", base_url=fake.base_url, price=PRICE,
        cache=open_cache(), poll_interval=0.01, **params,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server waits per call")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        fake = FakeOpenAI(server)
        fake.latency = args.latency
        examples = [Example(id=i, input=f"Summarise document number {i} in one sentence.") for i in range(args.requests)]
        print(f"{args.requests} chat completions, server latency {args.latency * 1000:.0f} ms per call")
        print(f"{'concurrency':>11} {'seconds':>8} {'req/s':>7} {'speed-up':>8}")
        baseline = None
        sync_cost = None
        for concurrency in args.concurrency:
            lab = make_labeller(fake, concurrency=concurrency)
            start = time.perf_counter()
            result = lab.annotate(examples)
            elapsed = time.perf_counter() - start
            assert all(a.ok for a in result), [a.error for a in result if not a.ok][:3]
            rate = len(examples) / elapsed
            baseline = baseline or rate
            sync_cost = lab.spent
            print(f"{concurrency:>11} {elapsed:>8.2f} {rate:>7.1f} {rate / baseline:>7.1f}x")

        batch = make_labeller(fake, use_batch=True)
        result = batch.annotate(examples)
        assert all(a.ok for a in result)
        print(f"cost for the same {args.requests} answers: sync ${sync_cost:.8f}, batch ${batch.spent:.8f}, "
              f"batch/sync = {batch.spent / sync_cost:.3f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
