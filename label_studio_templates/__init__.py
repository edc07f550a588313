"""Labeling configs for text-generation projects, each with a sample task file.

``load_template(name)`` gives the XML to paste into Label Studio (Settings > Labeling
Interface > Code); ``sample_tasks(name)`` the matching tasks to import.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.xml"))


def template_path(name: str) -> Path:
    path = HERE / f"{name}.xml"
    if not path.exists():
        raise KeyError(f"no template {name!r}; available: {', '.join(available())}")
    return path


def load_template(name: str) -> str:
    return template_path(name).read_text()


def sample_tasks(name: str) -> list[dict]:
    """Sample tasks in Label Studio's import format (``[{"data": {...}}, ...]``)."""
    template_path(name)
    return json.loads((HERE / f"{name}.tasks.json").read_text())
