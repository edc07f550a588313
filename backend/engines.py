"""Inference engines cached per process: a worker loads the base model once and each
adapter version once (engines hot-switch between loaded versions), however many rounds and
/predict calls follow."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from backend.settings import ServiceSettings
from training import Engine, get_engine

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[tuple, Engine] = {}


def engine_for(
    service: ServiceSettings, model_name: str, adapter: Path | None, *, system_prompt: str | None = None
) -> Engine:
    """The service's kind of engine (``ENGINE``, ``ENGINE_URL``) for ``model_name``, with the
    adapter folder ``adapter`` active, or the base model when ``adapter`` is None.

    The adapter's path is its engine version: version names like ``atgen-v3`` repeat across
    projects, paths do not, so one worker serving many projects never mixes their adapters
    (nor the generations strategies cache per engine version).
    """
    options = service.engine_options
    key = (service.engine, model_name, system_prompt, tuple(sorted(options.items())))
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            logger.info("loading %s engine for %s", service.engine, model_name)
            engine = get_engine(service.engine, model=model_name, system_prompt=system_prompt, **options)
            _engines[key] = engine
        if adapter is None:
            engine.use_version("base")
        else:
            engine.load_adapter(adapter, str(Path(adapter).resolve()))
        return engine
