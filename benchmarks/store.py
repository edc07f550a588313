"""Resumable results of a benchmark run, under ``results/<run>/``.

Layout::

    config.json                      the experiment settings (a rerun must match them)
    cells/<strategy>__seed<k>.json   one strategy x seed: labelled (id, label) pairs, ids the
                                     oracle failed on, curve rows, per-item test scores of the
                                     main metric, oracle spend; rewritten atomically per iteration
    adapters/<strategy>__seed<k>/    the latest LoRA adapter of that cell (resume point)
    initial/seed<k>.json, seed<k>-*/ iteration 0 of seed k (initial set, adapter, scores), shared
                                     by every strategy: it depends on the seed alone
    initial/seed<k>.lock             held by the process computing that iteration 0, so that
                                     processes sharing the run compute it once
    curves.csv                       all rows of all cells, regenerated after every iteration
    summary.json, *.png              written by ``benchmarks.report``

A cell file is the source of truth: after a crash the cell restarts from its last completed
iteration (labelled set, adapter and spend restored), and a finished cell is skipped.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import uuid
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

CURVE_FIXED_COLUMNS = ("strategy", "seed", "iteration", "labels", "cost")
# Settings a run may change between invocations: adding strategies or seeds extends a run.
_EXTENDABLE_SETTINGS = frozenset({"strategies", "seeds"})
# Settings added after runs were archived, with the value those runs used without naming it: a
# saved config that lacks one is read as having that value.
_LATER_SETTINGS = {"precision": "fp32", "oracle_train_rows": 0}


class ConfigMismatchError(ValueError):
    """A rerun uses settings that differ from the ones the run was started with."""


@dataclass
class CellState:
    """Progress of one strategy x seed: enough to resume after a crash.

    ``rows[i]`` is the curve point after iteration ``i``; ``item_scores[i]`` the main metric per
    test item at that point. ``adapter`` is the folder of the latest trained adapter.
    """

    strategy: str
    seed: int
    labeled: list[tuple[Hashable, str]] = field(default_factory=list)
    skipped_ids: list[Hashable] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    item_scores: list[list[float]] = field(default_factory=list)
    spent: float = 0.0
    adapter: str | None = None
    finished: bool = False
    stop_reason: str | None = None

    @property
    def key(self) -> str:
        return cell_key(self.strategy, self.seed)


def cell_key(strategy: str, seed: int) -> str:
    return f"{strategy}__seed{seed}"


def _cell_from_json(path: Path) -> CellState:
    state = CellState(**json.loads(path.read_text(encoding="utf-8")))
    state.labeled = [(example_id, text) for example_id, text in state.labeled]  # JSON gives lists
    return state


def _write_atomic(path: Path, text: str) -> None:
    # A kill mid-write must leave the previous version intact, never half a file; the pid in the
    # temporary name lets two processes run disjoint strategies into one run folder.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _with_sorted_lists(saved: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """``saved`` with each extendable list (strategies, seeds) the sorted union of both."""
    merged = dict(saved)
    for key in _EXTENDABLE_SETTINGS & set(config):
        merged[key] = sorted(set(saved.get(key, [])) | set(config[key]), key=str)
    return merged


class RunStore:
    """Reads and writes the files of one run directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.cells_dir.mkdir(parents=True, exist_ok=True)

    @property
    def curves_path(self) -> Path:
        return self.root / "curves.csv"

    def check_config(self, config: dict[str, Any], *, record: bool = True) -> None:
        """Record ``config`` on the first call; later calls must agree on every setting except
        the lists of strategies and seeds (which only extend the run). With ``record=False`` it
        only compares, so a reader (a report rebuilt from an archive kept in git) leaves the
        folder as it found it."""
        path = self.root / "config.json"
        if not path.exists():
            if record:
                _write_atomic(path, json.dumps(_with_sorted_lists(config, config), indent=2, sort_keys=True))
            return
        on_disk = json.loads(path.read_text(encoding="utf-8"))
        saved = {**{key: value for key, value in _LATER_SETTINGS.items() if key in config}, **on_disk}
        differing = sorted(
            key for key in (set(saved) | set(config)) - _EXTENDABLE_SETTINGS
            if saved.get(key) != config.get(key)
        )
        if differing:
            details = "; ".join(f"{k}: was {saved.get(k)!r}, now {config.get(k)!r}" for k in differing)
            raise ConfigMismatchError(
                f"run {str(self.root)!r} was started with other settings ({details}); "
                f"use another --run-name or the original settings"
            )
        merged = _with_sorted_lists(saved, config)
        if record and merged != on_disk:  # an unchanged file stays untouched (archives live in git)
            _write_atomic(path, json.dumps(merged, indent=2, sort_keys=True))

    def adapter_dir(self, strategy: str, seed: int, iteration: int) -> Path:
        """A fresh folder for the adapter of one iteration.

        Engines name an adapter version after its folder, and feature caches key generations by
        that version: the random suffix keeps two different adapters from ever sharing a name
        (e.g. iteration 1 of two cells, or of a rerun in the same process).
        """
        return self.root / "adapters" / cell_key(strategy, seed) / f"iteration{iteration}-{uuid.uuid4().hex[:8]}"

    def prune_adapters(self, strategy: str, seed: int, keep: str | None) -> None:
        """Delete the cell's adapters except ``keep``: older iterations and the half-written
        output of a killed training run. Only the latest adapter is a resume point."""
        folder = self.root / "adapters" / cell_key(strategy, seed)
        if folder.is_dir():
            for path in folder.iterdir():
                if keep is None or path.resolve() != Path(keep).resolve():
                    shutil.rmtree(path, ignore_errors=True)

    def _initial_point_path(self, seed: int) -> Path:
        return self.root / "initial" / f"seed{seed}.json"

    def save_initial_point(self, state: CellState) -> None:
        """Keep iteration 0 of ``state`` for the other strategies of its seed.

        The initial set, its adapter and its test scores depend only on the seed (``benchmarks.loop``
        chooses the set with ``initial_strategy`` and trains with the seed), so later cells of that
        seed start from a copy instead of training and evaluating the same adapter again.
        """
        path = self._initial_point_path(state.seed)
        if path.exists():
            return
        adapter = path.parent / f"seed{state.seed}-{uuid.uuid4().hex[:8]}"
        shutil.copytree(state.adapter, adapter)
        point = {
            "labeled": state.labeled, "skipped_ids": state.skipped_ids, "row": state.rows[0],
            "item_scores": state.item_scores[0], "spent": state.spent, "adapter": str(adapter),
        }
        _write_atomic(path, json.dumps(point))

    def has_initial_point(self, seed: int) -> bool:
        return self._initial_point_path(seed).exists()

    def claim_initial_point(self, seed: int) -> FileLock | None:
        """A held lock reserving the computation of ``seed``'s iteration 0 for this process, or
        None while another process holds it (that process will save the shared point).

        The operating system drops the lock when its holder dies, so a killed process never
        blocks the others: the next one to ask takes the claim over. Release it when the cell
        has run (``lock.release()``).
        """
        path = self._initial_point_path(seed).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        return lock

    def initial_point(self, strategy: str, seed: int) -> CellState | None:
        """A new cell for ``strategy`` that has finished iteration 0 as a copy of its seed's shared
        initial point, or None when no cell of that seed has finished iteration 0 yet."""
        path = self._initial_point_path(seed)
        if not path.exists():
            return None
        point = json.loads(path.read_text(encoding="utf-8"))
        return CellState(
            strategy, seed, labeled=[(example_id, text) for example_id, text in point["labeled"]],
            skipped_ids=point["skipped_ids"], rows=[{**point["row"], "strategy": strategy}],
            item_scores=[point["item_scores"]], spent=point["spent"], adapter=point["adapter"],
        )

    def load_cell(self, strategy: str, seed: int) -> CellState | None:
        path = self.cells_dir / f"{cell_key(strategy, seed)}.json"
        if not path.exists():
            return None
        return _cell_from_json(path)

    def save_cell(self, state: CellState) -> None:
        _write_atomic(self.cells_dir / f"{state.key}.json", json.dumps(asdict(state)))
        self.write_curves()

    def cells(self) -> list[CellState]:
        """Every cell of the run, sorted by strategy then seed."""
        states = [_cell_from_json(p) for p in self.cells_dir.glob("*.json")]
        return sorted(states, key=lambda s: (s.strategy, s.seed))

    def write_curves(self) -> None:
        """Regenerate ``curves.csv`` from the cell files (one row per cell and iteration)."""
        rows = [row for cell in self.cells() for row in cell.rows]
        extra = sorted({k for row in rows for k in row} - set(CURVE_FIXED_COLUMNS))
        lines = [list(CURVE_FIXED_COLUMNS) + extra]
        lines += [[row.get(c, "") for c in lines[0]] for row in rows]
        text = io.StringIO(newline="")
        csv.writer(text).writerows(lines)
        _write_atomic(self.curves_path, text.getvalue())
