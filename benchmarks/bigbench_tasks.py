"""BIG-bench task files, read from the ``bigbench==1.0.0`` source distribution.

The PyPI package ships only as an sdist whose dependencies include TensorFlow, so it is never
installed: the tarball is fetched once with ``pip download --no-deps`` and each requested
``task.json`` is extracted into the cache. The files carry BIG-bench's canary string: they are
read at run time and must never be committed.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.cache import cache_dir

logger = logging.getLogger(__name__)

BIGBENCH_VERSION = "1.0.0"
_SDIST_NAME = f"bigbench-{BIGBENCH_VERSION}.tar.gz"
_TASKS_PREFIX = f"bigbench-{BIGBENCH_VERSION}/bigbench/benchmark_tasks/"


class TaskNotFoundError(LookupError):
    """The requested BIG-bench task has no ``task.json`` in the distribution."""


def _pip_commands() -> list[list[str]]:
    """pip front ends to try, this interpreter's first.

    Recent pip releases refuse to even download ``bigbench==1.0.0`` because its metadata
    declares a direct-URL dependency (``bleurt @ file://...``), ``--no-deps`` notwithstanding;
    an older ``pip3`` on the PATH (23.x) still downloads it, so it is the fallback.
    """
    commands = [[sys.executable, "-m", "pip"]]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found and Path(found).resolve().parent != Path(sys.executable).resolve().parent:
            commands.append([found])
    return commands


def sdist_path(cache: Path | None = None) -> Path:
    """Path of the ``bigbench`` sdist, downloaded with pip on first use (about 358 MB, ~40 s).

    pip downloads into a private folder and the finished tarball is renamed into place, so a
    download killed midway never leaves half a tarball that a later run would take as done, and
    two benchmark processes started together (one run, disjoint strategies) each see either no
    file or the whole one.
    """
    folder = (cache or cache_dir()) / "downloads"
    path = folder / _SDIST_NAME
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for pip in _pip_commands():
        logger.info("downloading bigbench==%s (sdist, ~358 MB) into %s with %s", BIGBENCH_VERSION, folder, pip[-1])
        with tempfile.TemporaryDirectory(prefix=".bigbench-", dir=folder) as private:
            cmd = [*pip, "download", "--no-deps", f"bigbench=={BIGBENCH_VERSION}", "-d", private]
            done = subprocess.run(cmd, capture_output=True, text=True)
            downloaded = Path(private) / _SDIST_NAME
            if done.returncode == 0 and downloaded.is_file():
                os.replace(downloaded, path)
                return path
        errors.append(f"{' '.join(pip)} (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    raise RuntimeError(
        f"could not download bigbench=={BIGBENCH_VERSION}; tried: {' | '.join(errors)}. "
        f"Download it by hand (`pip download --no-deps bigbench=={BIGBENCH_VERSION} -d {folder}` "
        f"with pip < 24) and rerun."
    )


def load_task(task: str, cache: Path | None = None) -> dict[str, Any]:
    """The parsed ``task.json`` of a BIG-bench task (``"qa_wikidata"``, ``"gem/xsum"``...).

    Extracted files are cached under ``<cache>/bigbench/<task>/task.json``; the tarball is only
    opened (and downloaded) when the task is not cached yet.
    """
    root = cache or cache_dir()
    cached = root / "bigbench" / task / "task.json"
    if not cached.exists():
        member_name = f"{_TASKS_PREFIX}{task}/task.json"
        with tarfile.open(sdist_path(root), "r:gz") as tar:
            try:
                member = tar.getmember(member_name)
            except KeyError:
                raise TaskNotFoundError(
                    f"BIG-bench task {task!r} not found in bigbench=={BIGBENCH_VERSION} "
                    f"(no {member_name}); examples of generative tasks: qa_wikidata, disfl_qa, gem/xsum"
                ) from None
            data = tar.extractfile(member).read()
        cached.parent.mkdir(parents=True, exist_ok=True)
        # A temporary name of this process's own: two processes extracting the same task at
        # once would otherwise rename each other's file away.
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cached)
    with cached.open(encoding="utf-8") as f:
        return json.load(f)
