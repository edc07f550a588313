"""Where benchmark assets (extracted task files) are cached between runs."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$ATGEN_CACHE_DIR`` or ``~/.cache/atgen-ls``; created on first use."""
    path = Path(os.environ.get("ATGEN_CACHE_DIR") or Path.home() / ".cache" / "atgen-ls")
    path.mkdir(parents=True, exist_ok=True)
    return path
