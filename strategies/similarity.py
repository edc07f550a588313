"""Similarity search over L2-normalised embeddings that stays within memory on large pools.

A dense 100k x 100k similarity matrix needs 40 GB; everything here works in row chunks
(``chunk_size`` x n floats at a time) or through an approximate index, so memory grows
linearly with the pool.
"""
from __future__ import annotations

import logging

import numpy as np
import torch
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

#: Above this many base vectors, k-nearest-neighbour search uses a faiss IVF index.
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


def approximate_knn(
    queries: np.ndarray, base: np.ndarray, k: int, *, nprobe: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-``k`` by inner product with a faiss IVF index (Johnson et al. 2019,
    IEEE Trans. Big Data): ``sqrt(n)`` k-means cells, ``nprobe`` cells searched per query.
    Missing neighbours (a query whose probed cells hold fewer than ``k`` rows) get index -1."""
    import faiss

    base = np.ascontiguousarray(base, dtype=np.float32)
    dim = base.shape[1]
    n_cells = max(1, int(np.sqrt(len(base))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, n_cells, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.train(base)
    index.add(base)
    index.nprobe = min(nprobe, n_cells)
    sims, indices = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(base)))
    return indices.astype(np.int64), sims


def knn(
    queries: np.ndarray, base: np.ndarray, k: int, *, exact_limit: int = EXACT_KNN_LIMIT, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` neighbours: exact up to ``exact_limit`` base rows, faiss IVF above (when installed)."""
    if len(base) > exact_limit:
        try:
            return approximate_knn(queries, base, k, seed=seed)
        except ImportError:
            logger.warning("faiss is not installed: exact kNN over %d rows will be slow", len(base))
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
