"""Adapter versions of an inference engine: how they are named, loaded once and switched.

Every engine keeps the same bookkeeping (``version`` is the active adapter, ``"base"`` the model
without one; a version is loaded once, then switched to by name) and differs only in what loading
and activating an adapter means: a PEFT slot, a vLLM ``LoRARequest``, a server-side LoRA module.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASE_VERSION = "base"


def adapter_version_name(path: str | Path) -> str:
    """The version an adapter folder declares in ``adapter_info.json``, else its folder name."""
    info = Path(path) / "adapter_info.json"
    if info.is_file():
        version = json.loads(info.read_text()).get("version")
        if version:
            return str(version)
    return Path(path).name


def resolve_adapter_version(path: str | Path, version: str | None) -> str:
    """The version an adapter is loaded as: ``version``, else what its folder declares.
    Shared by every engine, so they name and refuse versions alike."""
    version = version or adapter_version_name(path)
    if version == BASE_VERSION:
        raise ValueError(f"{BASE_VERSION!r} names the model without adapter; pick another version name")
    return version


class AdapterVersions:
    """``load_adapter``/``use_version``/``loaded_versions`` for an engine.

    ``_adapters`` maps each loaded version to the engine's handle for it, made by
    ``_load_adapter(path, version)``; ``_activate(version)`` makes a loaded version (or the
    base model) the one ``generate`` uses, where the engine needs more than ``self.version``.
    """

    version: str = BASE_VERSION
    _adapters: dict[str, Any]

    def _start_versions(self, adapter: str | Path | None) -> None:
        """End of the engine's ``__init__``: no version loaded but the base, then ``adapter``."""
        self._adapters = {}
        self.version = BASE_VERSION
        if adapter is not None:
            self.load_adapter(adapter)

    def _load_adapter(self, path: str | Path, version: str) -> Any:
        raise NotImplementedError

    def _activate(self, version: str) -> None:
        """Nothing to do by default: the engine reads ``self.version`` when it generates."""

    @property
    def loaded_versions(self) -> list[str]:
        return [BASE_VERSION, *self._adapters]

    def load_adapter(self, path: str | Path, version: str | None = None) -> None:
        """Load the adapter at ``path`` as ``version`` (once; default: the version its folder
        declares) and make it active."""
        version = resolve_adapter_version(path, version)
        if version not in self._adapters:
            self._adapters[version] = self._load_adapter(path, version)
        self.use_version(version)

    def use_version(self, version: str) -> None:
        """Switch to an already loaded adapter version, or to ``"base"``."""
        if version != BASE_VERSION and version not in self._adapters:
            raise KeyError(f"adapter version {version!r} is not loaded; loaded: {self.loaded_versions}")
        self._activate(version)
        self.version = version
