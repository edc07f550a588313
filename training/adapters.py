"""Versioned adapters on disk: ``MODEL_DIR/<project>/<version>/``.

A version is written into a hidden temporary folder and renamed into place only when complete,
so a crash mid-save never leaves a half-written adapter where a worker could load it. Each
version is self-describing (``adapter_info.json``: base model, peft config, train/eval counts,
metrics, timestamps). ``CURRENT`` names the version in service; rolling back rewrites only that.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from training.lora import TRAIN_RESULT_FILE

logger = logging.getLogger(__name__)

INFO_FILE = "adapter_info.json"
CURRENT_FILE = "CURRENT"


@dataclass(frozen=True)
class AdapterVersion:
    version: str
    path: Path
    info: dict


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


class AdapterRegistry:
    """The adapter versions of one project, oldest first."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _load(self, version: str) -> AdapterVersion:
        path = self.root / version
        return AdapterVersion(version, path, _read_json(path / INFO_FILE))

    def versions(self) -> list[AdapterVersion]:
        """Every complete version, in creation order."""
        if not self.root.is_dir():
            return []
        found = [self._load(p.name) for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(found, key=lambda v: (v.info.get("created_at", ""), v.version))

    def current(self) -> AdapterVersion | None:
        """The version in service: the last written one, or the one rolled back to."""
        pointer = self.root / CURRENT_FILE
        if pointer.is_file():
            version = pointer.read_text().strip()
            if (self.root / version).is_dir():
                return self._load(version)
            logger.warning("CURRENT names missing version %r; using the newest", version)
        versions = self.versions()
        return versions[-1] if versions else None

    def get(self, version: str) -> AdapterVersion:
        if not (self.root / version).is_dir():
            raise KeyError(f"no adapter version {version!r} in {self.root}; have {[v.version for v in self.versions()]}")
        return self._load(version)

    @contextlib.contextmanager
    def writing(self, version: str, info: dict | None = None) -> Iterator[Path]:
        """Yield a temporary folder to save ``version`` into; publish it atomically on success.

        On success ``adapter_info.json`` is written (``info`` merged over what the folder itself
        tells: peft config, base model, train/eval counts and metrics from training), the folder
        is renamed to ``root/version`` and becomes current. On an exception it is removed.
        """
        if not version or version.startswith(".") or "/" in version or version == CURRENT_FILE:
            raise ValueError(f"invalid adapter version name {version!r}")
        if (self.root / version).exists():
            raise FileExistsError(f"adapter version {version!r} already exists in {self.root}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=self.root))
        started = datetime.now(timezone.utc).isoformat()
        try:
            yield tmp
            described = self._describe(tmp, version, started, info or {})
            (tmp / INFO_FILE).write_text(json.dumps(described, indent=2, default=str))
            tmp.chmod(0o755)
            os.rename(tmp, self.root / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _write_atomically(self.root / CURRENT_FILE, version)
        logger.info("published adapter version %s in %s", version, self.root)

    @staticmethod
    def _describe(folder: Path, version: str, started: str, info: dict) -> dict:
        peft_config = _read_json(folder / "adapter_config.json")
        trained = _read_json(folder / TRAIN_RESULT_FILE)
        described = {
            "version": version,
            "base_model": trained.get("base_model") or peft_config.get("base_model_name_or_path"),
            "peft_config": peft_config or None,
            "n_train": trained.get("n_train"),
            "n_eval": trained.get("n_eval"),
            "metrics": {"eval_loss": trained.get("eval_loss")} if trained else {},
            "training": trained or None,
            "started_at": started,
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
        for key, value in info.items():
            if key == "metrics":
                described["metrics"] = {**described["metrics"], **value}
            else:
                described[key] = value
        return described

    def rollback(self, version: str) -> AdapterVersion:
        """Serve ``version`` again; newer versions stay on disk."""
        target = self.get(version)
        _write_atomically(self.root / CURRENT_FILE, version)
        logger.info("rolled back %s to version %s", self.root, version)
        return target

    def keep_last(self, n: int) -> list[str]:
        """Delete all but the newest ``n`` versions (never the current one); returns deleted names."""
        if n < 1:
            raise ValueError(f"keep_last needs n >= 1, got {n}")
        current = self.current()
        doomed = [v for v in self.versions()[:-n] if current is None or v.version != current.version]
        for v in doomed:
            shutil.rmtree(v.path)
        return [v.version for v in doomed]
