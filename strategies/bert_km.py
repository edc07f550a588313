"""BERT-KM: k-means on input embeddings, one representative per cluster."""
from __future__ import annotations

import warnings

import numpy as np

from strategies.base import Strategy
from strategies.features import FEATURES, inputs


def kmeans_representatives(embeddings: np.ndarray, k: int, seed: int = 0) -> list[int]:
    """Cluster into ``k`` groups (k-means++, Lloyd) and return, per cluster, the row nearest to
    its centre, largest clusters first. Fewer distinct clusters than ``k`` (duplicate rows)
    are topped up with the rows nearest to their centres."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # Duplicate rows yield fewer clusters than asked; handled below, not worth a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        kmeans = KMeans(n_clusters=k, random_state=seed, n_init=1).fit(embeddings)
    distance = np.linalg.norm(embeddings - kmeans.cluster_centers_[kmeans.labels_], axis=1)
    sizes = np.bincount(kmeans.labels_, minlength=k)
    picks: list[int] = []
    for cluster in sorted(np.unique(kmeans.labels_), key=lambda c: (-sizes[c], c)):
        members = np.flatnonzero(kmeans.labels_ == cluster)
        picks.append(int(members[np.argmin(distance[members])]))
    if len(picks) < k:
        chosen = set(picks)
        picks += [int(i) for i in np.argsort(distance, kind="stable") if int(i) not in chosen][: k - len(picks)]
    return picks


class BERTKMStrategy(Strategy):
    """BERT-KM (Yuan, Lin and Boyd-Graber, 2020, EMNLP, "Cold-start Active Learning through
    Self-supervised Language Modeling"): k-means with ``k`` = the batch size on L2-normalised
    input embeddings; select the example nearest each centre, so the batch is spread over
    the pool's modes. The labeled set is not used (a cold-start method). Embeddings from the
    engine's ``embed`` or all-MiniLM-L6-v2 (the paper used BERT). No hyperparameters;
    ``seed`` seeds k-means++.
    """

    name = "bert_km"
    needs_model = False

    def _select(self, pool, k, *, labeled, model, seed):
        embeddings = FEATURES.embeddings(inputs(pool), model)
        return [pool[i].id for i in kmeans_representatives(embeddings, k, seed)]
