"""Submodular facility location over a sparse k-nearest-neighbour similarity graph."""
from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from strategies.base import Strategy
from strategies.features import FEATURES, inputs
from strategies.similarity import knn, max_similarity


def knn_similarity_graph(embeddings: np.ndarray, n_neighbors: int, seed: int = 0) -> sp.csc_matrix:
    """Sparse ``n x n`` matrix ``W[i, j] = max(0, <e_i, e_j>)`` for ``j`` among the ``n_neighbors``
    nearest rows of ``i`` (``i`` itself included), zero elsewhere. Stored by column so the
    rows a candidate ``j`` would cover are one contiguous slice."""
    n = len(embeddings)
    indices, sims = knn(embeddings, embeddings, n_neighbors, seed=seed)
    rows = np.repeat(np.arange(n), indices.shape[1])
    cols, vals = indices.ravel(), np.clip(sims.ravel(), 0, None)
    found = cols >= 0
    return sp.csc_matrix((vals[found], (rows[found], cols[found])), shape=(n, n))


def facility_location_order(graph: sp.csc_matrix, k: int, initial_cover: np.ndarray | None = None) -> list[int]:
    """Lazy greedy maximisation (Minoux, 1978) of ``f(S) = sum_i max_{j in S} W[i, j]``.

    ``initial_cover[i]`` is how well ``i`` is already represented (by labeled examples); a
    candidate's gain is ``sum_i max(0, W[i, j] - cover_i)``. Gains only shrink as ``S`` grows
    (submodularity), so a stale gain is an upper bound and most candidates are never
    re-evaluated. Returns positions, best first.
    """
    n = graph.shape[0]
    cover = np.zeros(n, dtype=np.float64) if initial_cover is None else np.clip(initial_cover, 0, None).astype(float)
    indptr, rows, weights = graph.indptr, graph.indices, graph.data

    def gain(j: int) -> float:
        covered = rows[indptr[j] : indptr[j + 1]]
        return float(np.maximum(weights[indptr[j] : indptr[j + 1]] - cover[covered], 0).sum())

    contributions = np.maximum(weights - cover[rows], 0)
    initial = np.add.reduceat(np.append(contributions, 0), indptr[:-1]) * (np.diff(indptr) > 0)
    heap = [(-float(g), j) for j, g in enumerate(initial)]
    heapq.heapify(heap)
    order: list[int] = []
    progress = tqdm(total=k, desc="facility location", disable=k < 200)
    while len(order) < k:
        _, j = heapq.heappop(heap)
        current = gain(j)
        if not heap or current >= -heap[0][0]:
            order.append(j)
            sl = slice(indptr[j], indptr[j + 1])
            cover[rows[sl]] = np.maximum(cover[rows[sl]], weights[sl])
            progress.update()
        else:
            heapq.heappush(heap, (-current, j))
    progress.close()
    return order


def facility_location_objective(embeddings: np.ndarray, selected: list[int]) -> float:
    """Exact (dense, chunked) ``sum_i max_{j in S} max(0, <e_i, e_j>)``: to compare selections."""
    if not selected:
        return 0.0
    best = max_similarity(embeddings, np.asarray(embeddings)[selected])
    return float(np.clip(best, 0, None).sum())


class FacilityLocationStrategy(Strategy):
    """Facility location (Bhatt et al., 2024, Findings of ACL, "An Experimental Design
    Framework for Label-Efficient Supervised Finetuning of Large Language Models").

    Maximises ``f(S) = sum_{i in pool} max_{j in S ∪ L} sim(i, j)`` with ``sim`` the cosine
    similarity of input embeddings clipped at 0 (facility location needs non-negative
    weights): each pick is the example that best represents the pool not yet covered by
    the labeled set ``L`` or earlier picks. Lazy greedy, ``(1 - 1/e)``-optimal.

    To scale (100k examples would need a 40 GB dense matrix), ``sim(i, j)`` is kept only for
    ``j`` among the ``n_neighbors`` nearest neighbours of ``i`` (exact chunked search up to
    20k examples, a faiss IVF index above): memory ``O(n * n_neighbors)``. Defaults:
    ``n_neighbors=64``; embeddings from the engine's ``embed`` or all-MiniLM-L6-v2.
    """

    name = "facility_location"
    needs_model = False

    def __init__(self, n_neighbors: int = 64) -> None:
        self.n_neighbors = n_neighbors

    def _select(self, pool, k, *, labeled, model, seed):
        embeddings = FEATURES.embeddings(inputs(pool), model)
        cover = None
        if labeled:
            cover = max_similarity(embeddings, FEATURES.embeddings(inputs(labeled), model))
        graph = knn_similarity_graph(embeddings, self.n_neighbors, seed=seed)
        return [pool[i].id for i in facility_location_order(graph, k, cover)]
