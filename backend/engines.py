"""Inference engines cached per process, so a worker loads the base model once and each
adapter version once, however many rounds and /predict calls follow."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from training import Engine, get_engine

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[tuple[str, str, str | None], Engine] = {}


def engine_for(kind: str, model_name: str, adapter: Path | None, version: str, **opts) -> Engine:
    """The engine of ``model_name`` with ``adapter`` (``version``) active."""
    key = (kind, model_name, str(adapter) if adapter else None)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            logger.info("loading %s engine for %s (adapter %s)", kind, model_name, version if adapter else "none")
            engine = get_engine(kind, model=model_name, adapter=str(adapter) if adapter else None, **opts)
            # One engine per (model, adapter): drop engines of older adapters of this model.
            for old in [k for k in _engines if k[:2] == key[:2]]:
                del _engines[old]
            _engines[key] = engine
        return engine
