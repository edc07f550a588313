"""Where a strategy gains: the main metric on a named slice of the test split and on the rest.

A curve says *that* a strategy beats random; a slice says *where*. On ``bigbench:disfl_qa``, for
instance, the whole gain of facility location over random lay in the unanswerable questions
(reference ``unknown``), not in finding answer spans (BENCHMARKS.md). ``--slice NAME=REGEX``
names the test items with a reference that fully matches ``REGEX`` (Python syntax; ``(?i)`` for
case-insensitive); the report then gives, per strategy and label count, the main metric on those
items and on the others, from the per-item scores every cell keeps. Nothing is re-run, so a
slice can be added to a finished run with ``--report-only``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # importing ``training`` pulls in torch; the CLI module imports this one
    from benchmarks.store import CellState
    from training.example import Example

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class SliceError(ValueError):
    """A ``--slice`` is malformed or selects no test item (or all of them); the message names it."""


@dataclass(frozen=True)
class ReferenceSlice:
    """Test items whose reference fully matches ``pattern``."""

    name: str
    pattern: re.Pattern

    @classmethod
    def parse(cls, spec: str) -> ReferenceSlice:
        """``"unanswerable=unknown"`` -> a slice named ``unanswerable``."""
        name, sep, regex = spec.partition("=")
        if not sep or not _NAME.match(name):
            raise SliceError(f"--slice expects NAME=REGEX with NAME of letters, digits, '_' or '-', got {spec!r}")
        try:
            return cls(name, re.compile(regex))
        except re.error as exc:
            raise SliceError(f"--slice {name}: {regex!r} is not a regular expression ({exc})") from None

    def mask(self, test: Sequence[Example]) -> np.ndarray:
        """One boolean per test item: does any of its references match? Refused when the slice
        holds no item or every item, since there would be nothing to compare."""
        inside = np.array([any(self.pattern.fullmatch(ref.strip()) for ref in e.references) for e in test], dtype=bool)
        if not inside.any() or inside.all():
            which = "none" if not inside.any() else "all"
            raise SliceError(
                f"--slice {self.name}: {self.pattern.pattern!r} matches {which} of the {len(test)} test references"
            )
        return inside


def slice_curves(cells: Sequence[CellState], inside: np.ndarray) -> dict[str, dict[str, list[float]]]:
    """Per strategy: label counts and the main metric on the slice and on the rest, averaged over
    the cells (seeds) that reached each label count."""
    by_strategy: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for cell in cells:
        points = by_strategy.setdefault(cell.strategy, {})
        for row, scores in zip(cell.rows, cell.item_scores, strict=True):
            scores = np.asarray(scores, dtype=float)
            if scores.shape != inside.shape:
                raise SliceError(
                    f"{cell.strategy} seed {cell.seed} scored {scores.size} test items but the test split has "
                    f"{inside.size}: the run was made on other data"
                )
            points.setdefault(row["labels"], []).append((scores[inside].mean(), scores[~inside].mean()))
    curves = {}
    for strategy, points in sorted(by_strategy.items()):
        labels = sorted(points)
        curves[strategy] = {
            "labels": labels,
            "inside": [float(np.mean([p[0] for p in points[n]])) for n in labels],
            "outside": [float(np.mean([p[1] for p in points[n]])) for n in labels],
            "seeds": [len(points[n]) for n in labels],
        }
    return curves


def format_slice_table(name: str, items: int, rest: int, metric: str, curves: dict[str, dict]) -> str:
    """A Markdown table: one column per label count, two rows (slice, rest) per strategy."""
    labels = sorted({n for c in curves.values() for n in c["labels"]})
    lines = [
        f"| {metric} | " + " | ".join(str(n) for n in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for strategy, curve in curves.items():
        for part, size, key in ((name, items, "inside"), ("rest", rest, "outside")):
            by_labels = dict(zip(curve["labels"], curve[key], strict=True))
            cells = [f"{by_labels[n]:.3f}" if n in by_labels else "-" for n in labels]
            lines.append(f"| {strategy}: {part} ({size} items) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def slice_masks(test: Sequence[Example], slices: Sequence[ReferenceSlice]) -> dict[ReferenceSlice, np.ndarray]:
    """Each slice's :meth:`ReferenceSlice.mask` over the test split (a bad slice fails here)."""
    return {reference_slice: reference_slice.mask(test) for reference_slice in slices}


def write_slice_report(
    root: Path, cells: Sequence[CellState], masks: dict[ReferenceSlice, np.ndarray], metric: str
) -> dict[str, Any]:
    """Write ``slices.json``, ``slices.md`` and ``slice_<name>.png`` under ``root`` for the
    :func:`slice_masks` of a run; return the slices' curves."""
    from benchmarks.plotting import plot_slice_curves
    from benchmarks.report import BASELINE

    report: dict[str, Any] = {}
    tables = []
    for reference_slice, inside in masks.items():
        name, pattern = reference_slice.name, reference_slice.pattern.pattern
        curves = slice_curves(cells, inside)
        items, rest = int(inside.sum()), int((~inside).sum())
        report[name] = {"pattern": pattern, "items": items, "rest": rest, "strategies": curves}
        table = format_slice_table(name, items, rest, metric, curves)
        tables.append(f"### {name}: references matching `{pattern}`\n\n{table}")
        plot_slice_curves(curves, name, metric, root / f"slice_{name}.png", baseline=BASELINE)
    (root / "slices.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (root / "slices.md").write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    return report
