"""Similarity search over L2-normalised embeddings that stays within memory on large pools.

A dense 100k x 100k similarity matrix needs 40 GB; everything here works in row chunks
(``chunk_size`` x n floats at a time) or through an approximate index, so memory grows
linearly with the pool.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

#: Above this many base vectors, k-nearest-neighbour search is approximate (inverted file).
EXACT_KNN_LIMIT = 20_000


def _chunks(n: int, chunk_size: int, desc: str):
    return tqdm(range(0, n, chunk_size), desc=desc, disable=n <= 4 * chunk_size)


def max_similarity(queries: np.ndarray, base: np.ndarray, chunk_size: int = 2048) -> np.ndarray:
    """For each query row, its largest dot product with a base row (``-inf`` if base is empty)."""
    out = np.full(len(queries), -np.inf, dtype=np.float32)
    if len(base) == 0:
        return out
    base_t = torch.from_numpy(np.ascontiguousarray(base, dtype=np.float32))
    for start in _chunks(len(queries), chunk_size, "max similarity"):
        block = torch.from_numpy(np.ascontiguousarray(queries[start : start + chunk_size], dtype=np.float32))
        out[start : start + len(block)] = (block @ base_t.T).max(dim=1).values.numpy()
    return out


def exact_knn(
    queries: np.ndarray, base: np.ndarray, k: int, *, chunk_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` base rows by dot product for each query: ``(indices, similarities)``,
    both ``(len(queries), k)``, most similar first. Chunked: memory ``chunk_size x len(base)``."""
    k = min(k, len(base))
    indices = np.empty((len(queries), k), dtype=np.int64)
    sims = np.empty((len(queries), k), dtype=np.float32)
    base_t = torch.from_numpy(np.ascontiguousarray(base, dtype=np.float32))
    for start in _chunks(len(queries), chunk_size, "exact kNN"):
        block = torch.from_numpy(np.ascontiguousarray(queries[start : start + chunk_size], dtype=np.float32))
        values, idx = torch.topk(block @ base_t.T, k, dim=1)
        indices[start : start + len(block)] = idx.numpy()
        sims[start : start + len(block)] = values.numpy()
    return indices, sims


def spherical_kmeans(
    vectors: np.ndarray, n_clusters: int, *, seed: int = 0, iterations: int = 10, sample_size: int = 50_000
) -> np.ndarray:
    """Unit-norm centroids of spherical k-means (cosine Lloyd iterations) fitted on a seeded
    sample of at most ``sample_size`` rows; an empty cluster keeps its previous centroid."""
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), size=min(sample_size, len(vectors)), replace=False)]
    sample_t = torch.from_numpy(np.ascontiguousarray(sample, dtype=np.float32))
    centroids = sample_t[torch.from_numpy(rng.choice(len(sample), size=n_clusters, replace=False))].clone()
    for _ in range(iterations):
        assignment = (sample_t @ centroids.T).argmax(dim=1)
        sums = torch.zeros_like(centroids).index_add_(0, assignment, sample_t)
        norms = sums.norm(dim=1, keepdim=True)
        centroids = torch.where(norms > 0, sums / norms.clamp(min=1e-12), centroids)
    return centroids.numpy()


def nearest_centroid(vectors: np.ndarray, centroids: np.ndarray, chunk_size: int = 8192) -> np.ndarray:
    """Index of the most similar centroid for each row."""
    centroids_t = torch.from_numpy(centroids)
    out = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), chunk_size):
        block = torch.from_numpy(np.ascontiguousarray(vectors[start : start + chunk_size], dtype=np.float32))
        out[start : start + len(block)] = (block @ centroids_t.T).argmax(dim=1).numpy()
    return out


def approximate_knn(
    queries: np.ndarray, base: np.ndarray, k: int, *, n_probe: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-``k`` by dot product with an inverted-file partition (the IVF scheme
    of Jégou, Douze and Schmid, 2011, IEEE TPAMI): spherical k-means splits ``base`` into
    ``sqrt(n)`` cells; the queries of one cell are compared, in one matrix product, with the
    base rows of the ``n_probe`` cells whose centroids are nearest to that cell's centroid.
    Probing per cell rather than per query keeps the work in a few hundred dense products
    (BLAS speed) instead of a scan per query. Queries with fewer than ``k`` candidates get
    index -1 (similarity -inf) in the missing slots."""
    base = np.ascontiguousarray(base, dtype=np.float32)
    n_cells = max(1, int(np.sqrt(len(base))))
    centroids = spherical_kmeans(base, n_cells, seed=seed)
    base_cell = nearest_centroid(base, centroids)
    query_cell = nearest_centroid(queries, centroids)
    members = [np.flatnonzero(base_cell == c) for c in range(n_cells)]
    probes = np.argsort(-(centroids @ centroids.T), axis=1)[:, : min(n_probe, n_cells)]
    k = min(k, len(base))
    indices = np.full((len(queries), k), -1, dtype=np.int64)
    sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
    base_t = torch.from_numpy(base)
    for cell in tqdm(range(n_cells), desc="approximate kNN", disable=n_cells < 100):
        rows = np.flatnonzero(query_cell == cell)
        if not len(rows):
            continue
        candidates = np.concatenate([members[c] for c in probes[cell]])
        found = min(k, len(candidates))
        block = torch.from_numpy(np.ascontiguousarray(queries[rows], dtype=np.float32))
        values, idx = torch.topk(block @ base_t[torch.from_numpy(candidates)].T, found, dim=1)
        indices[rows, :found] = candidates[idx.numpy()]
        sims[rows, :found] = values.numpy()
    return indices, sims


def knn(
    queries: np.ndarray, base: np.ndarray, k: int, *, exact_limit: int = EXACT_KNN_LIMIT, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` neighbours: exact up to ``exact_limit`` base rows, approximate (IVF) above."""
    if len(base) > exact_limit:
        return approximate_knn(queries, base, k, seed=seed)
    return exact_knn(queries, base, k)


def knn_excluding_self(embeddings: np.ndarray, k: int, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` neighbours of each row among the *other* rows (a row is never its own neighbour,
    even when duplicates tie with it)."""
    k = min(k, len(embeddings) - 1)
    if k < 1:
        empty = np.zeros((len(embeddings), 0))
        return empty.astype(np.int64), empty.astype(np.float32)
    indices, sims = knn(embeddings, embeddings, k + 1, **kwargs)
    is_self = (indices == np.arange(len(embeddings))[:, None]) | (indices < 0)
    # Stable sort moves self (and missing) entries to the end, keeping the rest in order.
    keep = np.argsort(is_self, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(indices, keep, axis=1), np.take_along_axis(sims, keep, axis=1)
