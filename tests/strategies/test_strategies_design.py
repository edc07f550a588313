"""Experimental-design strategies (IDDS, facility location) on hand-built embeddings."""
import numpy as np
import pytest

from strategies import get_strategy
from strategies.facility_location import (
    facility_location_objective,
    facility_location_order,
    knn_similarity_graph,
)
from strategies.idds import idds_order
from strategies.similarity import approximate_knn, exact_knn, knn_excluding_self
from training.example import Example

pytestmark = pytest.mark.unit


def _clusters(centres, per_cluster, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    points = np.concatenate([c + spread * rng.normal(size=(per_cluster, len(c))) for c in centres])
    return points / np.linalg.norm(points, axis=1, keepdims=True)


CENTRES = np.eye(6)[:3] * 1.0


def _examples(embeddings, prefix="x"):
    examples = [Example(id=f"{prefix}{i}", input=f"{prefix} text {i}") for i in range(len(embeddings))]
    return examples, {ex.input: v for ex, v in zip(examples, embeddings, strict=True)}


def test_facility_location_picks_one_point_per_well_separated_cluster():
    embeddings = _clusters(CENTRES, 20)
    order = facility_location_order(knn_similarity_graph(embeddings, 25), 3)
    assert sorted(i // 20 for i in order) == [0, 1, 2]


def test_facility_location_skips_clusters_the_labeled_set_covers(engine_factory):
    embeddings = _clusters(CENTRES, 15)
    pool, vectors = _examples(embeddings)
    labeled, labeled_vectors = _examples(_clusters(CENTRES[:2], 2, seed=9), prefix="l")
    engine = engine_factory(vectors={**vectors, **labeled_vectors}, dim=6)
    ids = get_strategy("facility_location", n_neighbors=20).select(pool, 1, labeled=labeled, model=engine)
    assert int(ids[0][1:]) // 15 == 2


def test_lazy_greedy_matches_plain_greedy_on_the_dense_objective():
    embeddings = _clusters(np.eye(8)[:5], 12, spread=0.4, seed=3)
    n = len(embeddings)
    order = facility_location_order(knn_similarity_graph(embeddings, n), 6)
    chosen: list[int] = []
    for _ in range(6):
        gains = [facility_location_objective(embeddings, chosen + [j]) if j not in chosen else -1 for j in range(n)]
        chosen.append(int(np.argmax(gains)))
    assert facility_location_objective(embeddings, order) == pytest.approx(
        facility_location_objective(embeddings, chosen), rel=1e-6
    )


def test_facility_location_returns_every_id_when_k_exceeds_useful_points(engine_factory):
    pool, vectors = _examples(_clusters(CENTRES, 3))
    engine = engine_factory(vectors=vectors, dim=6)
    ids = get_strategy("facility_location", n_neighbors=3).select(pool, 50, model=engine)
    assert sorted(ids) == sorted(ex.id for ex in pool)


def test_exact_and_approximate_knn_agree_on_clustered_data():
    embeddings = _clusters(np.eye(16), 40, spread=0.1).astype(np.float32)
    exact_idx, exact_sims = exact_knn(embeddings, embeddings, 5)
    approx_idx, approx_sims = approximate_knn(embeddings, embeddings, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(exact_idx, approx_idx, strict=True)])
    assert recall > 0.9
    assert np.allclose(exact_sims[:, 0], 1.0, atol=1e-5)


def test_knn_excluding_self_never_returns_the_row_itself():
    embeddings = np.array([[1.0, 0], [1.0, 0], [0, 1.0]], dtype=np.float32)  # rows 0 and 1 duplicate
    idx, _ = knn_excluding_self(embeddings, 1)
    assert idx[:, 0].tolist() == [1, 0, 0] or idx[:, 0].tolist() == [1, 0, 1]


def test_idds_avoids_near_duplicates_of_labeled_examples():
    embeddings = _clusters(CENTRES[:2], 10, seed=1)
    labeled = _clusters(CENTRES[:1], 1, seed=2)
    # The first pick comes from the cluster nothing labeled resembles.
    assert idds_order(embeddings, labeled, 1)[0] >= 10
    assert idds_order(embeddings, np.zeros((0, 6)), 1)[0] < 20


def test_idds_prefers_in_domain_over_outliers():
    embeddings = np.concatenate([_clusters(CENTRES[:1], 10), np.eye(6)[5:6]])
    assert idds_order(embeddings, np.zeros((0, 6)), 1)[0] != 10


def test_idds_counts_picks_as_labeled_and_spreads_the_batch():
    embeddings = _clusters(CENTRES[:2], 10, seed=4)
    labeled = np.zeros((0, 6))
    first_two = idds_order(embeddings, labeled, 2, lam=0.5)
    assert {i // 10 for i in first_two} == {0, 1}


def test_idds_strategy_returns_ids_deterministically(engine_factory):
    pool, vectors = _examples(_clusters(CENTRES, 5))
    engine = engine_factory(vectors=vectors, dim=6)
    strategy = get_strategy("idds")
    first = strategy.select(pool, 4, model=engine, seed=0)
    assert first == strategy.select(pool, 4, model=engine, seed=0)
    assert len(set(first)) == 4 and set(first) <= {ex.id for ex in pool}
