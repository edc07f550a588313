"""A run's finished cells, kept where a repository can hold them (``--archive DIR``).

``results/<run>/`` holds LoRA adapters (tens of MB each) and the oracle's labels; neither belongs
in git, and BIG-bench's labels carry its canary string, which asks that they never be committed.
``DIR/<run>/`` keeps what the report needs and what another machine cannot cheaply redo: the
settings (``config.json``), and per finished cell its curve rows, per-item test scores (for the
paired tests), the ids it chose and its spend, with label texts and adapters dropped.

A run given the same ``--archive`` takes the archived cells as done, so seeds and strategies
run on different machines or in different sessions add up to one table; ``--report-only
--archive DIR`` rebuilds that table from the archive alone. A run archives each cell the moment
it finishes, so a run killed later (a session that ends, a machine handed back) loses only the
cell it was in. Unfinished cells are never archived: without their adapter they could not resume.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.store import CellState, RunStore

logger = logging.getLogger(__name__)


def without_labels(cell: CellState) -> CellState:
    """The cell as archived: chosen ids without their label texts, no adapter."""
    return replace(cell, labeled=[(example_id, None) for example_id, _ in cell.labeled], adapter=None)


class RunArchive:
    """The archive folder of one run, ``DIR/<run>/``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def exists(self) -> bool:
        return (self.root / "config.json").exists()

    def restore_into(self, store: RunStore, config: dict[str, Any]) -> int:
        """Copy archived cells that ``store`` lacks into it; returns how many.

        Both folders must agree with ``config`` (a ``ConfigMismatchError`` names the difference).
        """
        if not self.exists:
            return 0
        archived = RunStore(self.root)
        archived.check_config(config, record=False)
        store.check_config(config)
        restored = 0
        for cell in archived.cells():
            if store.load_cell(cell.strategy, cell.seed) is None:
                store.save_cell(cell)
                restored += 1
        if restored:
            logger.info("took %d finished cell(s) from the archive %s", restored, self.root)
        return restored

    def keep(self, store: RunStore, config: dict[str, Any]) -> int:
        """Write the finished cells of ``store`` into the archive; returns how many."""
        finished = [cell for cell in store.cells() if cell.finished]
        if not finished:
            return 0
        self._save(finished, config)
        logger.info("archived %d finished cell(s) in %s", len(finished), self.root)
        return len(finished)

    def keep_cell(self, cell: CellState, config: dict[str, Any]) -> None:
        """Write one cell that has just finished into the archive."""
        self._save([cell], config)
        logger.info("archived %s seed %d in %s", cell.strategy, cell.seed, self.root)

    def _save(self, cells: list[CellState], config: dict[str, Any]) -> None:
        archived = RunStore(self.root)
        # The archive's config lists the strategies and seeds it holds cells of, not every one a
        # run asked for: a rerun or a --report-only over more seeds leaves it (and git) unchanged.
        archived.check_config({
            **config,
            "strategies": sorted({cell.strategy for cell in cells}),
            "seeds": sorted({cell.seed for cell in cells}),
        })
        for cell in cells:
            archived.save_cell(without_labels(cell))
