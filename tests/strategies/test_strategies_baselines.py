"""SIGnAL-paper baselines (CAL, core-set, BERT-KM, DUAL) and the subsampling wrapper."""
import numpy as np
import pytest
from conftest import gen

from strategies import StrategyError, get_strategy
from strategies.bert_km import kmeans_representatives
from strategies.bleuvar import bleu_variance
from strategies.coreset import k_center_order
from training.example import Example

pytestmark = pytest.mark.unit


def _clusters(n_clusters, per_cluster, dim=6, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[:n_clusters]
    points = np.concatenate([c + spread * rng.normal(size=(per_cluster, dim)) for c in centres])
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_k_center_covers_every_cluster_before_repeating_one():
    order = k_center_order(_clusters(4, 10), np.zeros((0, 6)), 4, seed=3)
    assert sorted(i // 10 for i in order) == [0, 1, 2, 3]


def test_k_center_starts_far_from_the_labeled_set():
    embeddings = _clusters(2, 10)
    order = k_center_order(embeddings, embeddings[:1], 1)
    assert order[0] >= 10


def test_k_center_first_pick_depends_on_seed_only_without_labels():
    embeddings = _clusters(1, 30, spread=0.3)
    firsts = {k_center_order(embeddings, np.zeros((0, 6)), 1, seed=s)[0] for s in range(5)}
    assert len(firsts) > 1
    assert k_center_order(embeddings, np.zeros((0, 6)), 3, seed=1) == k_center_order(embeddings, np.zeros((0, 6)), 3, seed=1)


def test_bert_km_returns_one_representative_per_cluster_largest_first():
    embeddings = np.concatenate([_clusters(1, 12), _clusters(2, 4, seed=1)[4:]])
    picks = kmeans_representatives(embeddings, 2)
    assert picks[0] < 12 and picks[1] >= 12


def test_bert_km_tops_up_when_duplicates_leave_fewer_clusters():
    embeddings = np.array([[1.0, 0], [1.0, 0], [1.0, 0], [0, 1.0]])
    picks = kmeans_representatives(embeddings, 3)
    assert len(set(picks)) == 3


def test_cal_picks_the_pool_example_that_disagrees_with_its_labeled_neighbours(engine_factory):
    vectors = {"near a": [1.0, 0.05, 0, 0], "near b": [0.05, 1.0, 0, 0], "labeled a": [1.0, 0, 0, 0],
               "labeled b": [0, 1.0, 0, 0], "yes": [0, 0, 1.0, 0], "no": [0, 0, 0, 1.0]}
    greedy = {"near a": gen("no", [-1.0]), "near b": gen("yes", [-1.0]),
              "labeled a": gen("yes", [-1.0]), "labeled b": gen("yes", [-1.0])}
    engine = engine_factory(greedy=greedy, vectors=vectors, dim=4)
    pool = [Example(id="A", input="near a"), Example(id="B", input="near b")]
    labeled = [Example(id="la", input="labeled a", output="yes"), Example(id="lb", input="labeled b", output="yes")]
    assert get_strategy("cal", n_neighbors=1).select(pool, 1, labeled=labeled, model=engine) == ["A"]


def test_dual_ranks_only_idds_candidates_by_bleuvar(engine_factory):
    # Five representative inputs (one cluster) and an outlier whose samples disagree most:
    # IDDS keeps the outlier out of the candidates, so BLEUVar never gets to pick it.
    vectors = {f"c{i}": [1.0, 0.05 * i, 0] for i in range(5)} | {"outlier": [0, 0, 1.0]}
    samples = {f"c{i}": ["same answer"] * (4 - i) + [f"other {j}" for j in range(i)] for i in range(5)}
    samples["outlier"] = [f"w{i} z{i}" for i in range(4)]
    engine = engine_factory(samples=samples, vectors=vectors, dim=3)
    pool = [Example(id=t, input=t) for t in vectors]
    ids = get_strategy("dual", candidate_ratio=2, n_samples=4).select(pool, 1, model=engine)
    sampled = [p for prompts, _, t in engine.generate_calls if t > 0 for p in prompts]
    assert "outlier" not in sampled and len(sampled) == 2
    assert ids == [max(sampled, key=lambda p: bleu_variance(samples[p]))]


def test_subsampling_passes_small_pools_through_and_samples_large_ones():
    pool = [Example(id=i, input=f"t{i}") for i in range(50)]
    small = get_strategy("subsample", base="random", max_pool=100)
    assert small.select(pool, 5, seed=2) == get_strategy("random").select(pool, 5, seed=2)
    wrapped = get_strategy("subsample", base="random", max_pool=10)
    ids = wrapped.select(pool, 5, seed=2)
    assert len(set(ids)) == 5 and ids == wrapped.select(pool, 5, seed=2)
    assert len(set(wrapped.select(pool, 20, seed=2))) == 20  # k above max_pool still gets k ids


def test_subsampling_inherits_needs_model_and_checks_base_params():
    assert get_strategy("subsample", base="nsp").needs_model
    with pytest.raises(StrategyError, match="needs a model"):
        get_strategy("subsample", base="nsp").select([Example(id=1, input="x")], 1)
    with pytest.raises(StrategyError, match="unknown parameter"):
        get_strategy("subsample", base="nsp", base_params={"bogus": 1}).select([Example(id=1, input="x")], 1)
