"""Speed and memory of the strategies on large pools; prints the figures.

    python benchmarks/strategies_scaling.py                # everything
    python benchmarks/strategies_scaling.py scaling        # FL + IDDS, 100k x 384, select 1000
    python benchmarks/strategies_scaling.py apricot        # FL vs apricot-select at 10k
    python benchmarks/strategies_scaling.py throughput     # batched shared pass vs per-example loop

Embeddings are synthetic (clustered unit vectors of MiniLM's dimension 384): embedding 100k
real texts on CPU takes longer than the selection being measured. Peak memory is the peak
resident set size of a fresh child process per measurement (Python, torch and faiss included).
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from strategies.facility_location import FacilityLocationStrategy  # noqa: E402

NEIGHBOURS = FacilityLocationStrategy().n_neighbors


def clustered_embeddings(n: int, dim: int = 384, n_clusters: int = 1000, spread: float = 0.04, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    # float32 throughout so the data itself costs n * dim * 4 bytes and the peak memory
    # measured afterwards is the selection's.
    points = centres[rng.integers(n_clusters, size=n)]
    points += spread * rng.standard_normal((n, dim), dtype=np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(method: str, n: int, k: int) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    from strategies.facility_location import facility_location_order, knn_similarity_graph
    from strategies.idds import idds_order

    embeddings = clustered_embeddings(n)
    before = _peak_rss_mb()
    start = time.perf_counter()
    if method == "facility_location":
        order = facility_location_order(knn_similarity_graph(embeddings, NEIGHBOURS), k)
    else:
        order = idds_order(embeddings, np.zeros((0, embeddings.shape[1]), dtype=np.float32), k)
    seconds = time.perf_counter() - start
    assert len(set(order)) == k
    print(json.dumps({"method": method, "n": n, "k": k, "seconds": seconds,
                      "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": before}))


def run_child(method: str, n: int, k: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "_child", method, str(n), str(k)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scaling(n: int = 100_000, k: int = 1000) -> None:
    for method in ("facility_location", "idds"):
        r = run_child(method, n, k)
        print(f"{method:18s} n={n} d=384 k={k}: {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB "
              f"(process with data before selection: {r['rss_before_mb']:.0f} MB)")


def apricot_comparison(n: int = 10_000, k: int = 1000) -> None:
    from apricot import FacilityLocationSelection

    from strategies.facility_location import (
        facility_location_objective,
        facility_location_order,
        knn_similarity_graph,
    )

    embeddings = clustered_embeddings(n, seed=1)
    # Warm up apricot's numba kernels so compile time is not counted.
    warm = np.clip(embeddings[:200] @ embeddings[:200].T, 0, None)
    FacilityLocationSelection(10, metric="precomputed").fit(warm)

    start = time.perf_counter()
    ours = facility_location_order(knn_similarity_graph(embeddings, NEIGHBOURS), k)
    ours_s = time.perf_counter() - start

    start = time.perf_counter()
    similarity = np.clip(embeddings @ embeddings.T, 0, None)  # dense: n^2 floats
    theirs = FacilityLocationSelection(k, metric="precomputed", optimizer="lazy").fit(similarity).ranking
    theirs_s = time.perf_counter() - start

    f_ours = facility_location_objective(embeddings, ours)
    f_theirs = facility_location_objective(embeddings, [int(i) for i in theirs])
    print(f"facility location n={n} k={k}: ours {ours_s:.1f} s (sparse {NEIGHBOURS}-NN), apricot {theirs_s:.1f} s "
          f"(dense lazy greedy); speed ratio apricot/ours {theirs_s / ours_s:.1f}x")
    print(f"  exact objective: ours {f_ours:.2f}, apricot {f_theirs:.2f}, "
          f"relative difference {(f_ours - f_theirs) / f_theirs * 100:+.3f}%")


def throughput(n: int = 64, max_new_tokens: int = 16, model: str | None = None, batch_size: int = 16) -> None:
    import tempfile

    from strategies import get_strategy
    from strategies.features import FEATURES
    from training.engine import get_engine
    from training.example import Example
    from training.tiny import build_tiny_model

    if model is None:
        model = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
        label = "tiny Llama (2 layers, hidden 64)"
    else:
        label = model
    engine = get_engine("transformers", model=None if model == "default" else model, batch_size=batch_size)
    pool = [Example(id=i, input=f"Question {i}: what is {i} plus {3 * i}? Explain briefly.") for i in range(n)]
    names = ("nsp", "mte", "huds")
    get_strategy("nsp").select(pool[:2], 1, model=engine)  # warm-up (lazy init, embedder load)
    FEATURES.clear()

    start = time.perf_counter()
    for prompt in (ex.input for ex in pool):
        engine.generate([prompt], max_new_tokens=max_new_tokens)
    naive_one = time.perf_counter() - start

    FEATURES.clear()
    start = time.perf_counter()
    FEATURES.greedy(engine, [ex.input for ex in pool], max_new_tokens=max_new_tokens)
    batched_one = time.perf_counter() - start

    FEATURES.clear()
    start = time.perf_counter()
    for name in names:
        get_strategy(name, max_new_tokens=max_new_tokens).select(pool, 10, model=engine)
    shared_three = time.perf_counter() - start

    print(f"model-based scoring, {label}, {n} prompts, {max_new_tokens} new tokens, engine batch {batch_size}:")
    print(f"  naive per-example generate loop: {n / naive_one:.1f} examples/s")
    print(f"  shared batched pass:             {n / batched_one:.1f} examples/s "
          f"({naive_one / batched_one:.1f}x)")
    print(f"  nsp+mte+huds on one shared pass: {n / shared_three:.1f} examples/s for all three "
          f"(naive would run the loop 3 times: {3 * naive_one / shared_three:.1f}x)")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=["all", "scaling", "apricot", "throughput"])
    parser.add_argument("--n", type=int, default=100_000, help="pool size for 'scaling'")
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--model", default=None, help="'default' (SmolLM2-135M) or a path; tiny model if unset")
    parser.add_argument("--prompts", type=int, default=64)
    args = parser.parse_args()
    if args.what in ("all", "scaling"):
        scaling(args.n, args.k)
    if args.what in ("all", "apricot"):
        apricot_comparison(k=args.k)
    if args.what in ("all", "throughput"):
        throughput(args.prompts, model=args.model)


if __name__ == "__main__":
    main()
