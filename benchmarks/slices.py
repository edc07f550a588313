"""Where a strategy gains: the main metric on a named slice of the test split and on the rest.

A curve says *that* a strategy beats random; a slice says *where*. On ``bigbench:disfl_qa``, for
instance, the whole gain of facility location over random lay in the unanswerable questions
(reference ``unknown``), not in finding answer spans (BENCHMARKS.md). ``--slice NAME=REGEX``
names the test items with a reference that fully matches ``REGEX`` (Python syntax; ``(?i)`` for
case-insensitive); the report then gives, per strategy and label count, the main metric on those
items and on the others, from the per-item scores every cell keeps, and the share of each
strategy's labels that fell in the slice (against the pool's own share): whether a strategy
gains on a slice because it asked for more of it. Nothing is re-run, so a slice can be added to
a finished run with ``--report-only``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.markdown import label_count_table

if TYPE_CHECKING:  # importing ``training`` pulls in torch; the CLI module imports this one
    from benchmarks.datasets import BenchmarkData
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

    def matches(self, example: Example) -> bool:
        """Does any of the example's (stripped) references fully match?"""
        return any(self.pattern.fullmatch(ref.strip()) for ref in example.references)

    def mask(self, test: Sequence[Example]) -> np.ndarray:
        """One boolean per test item: :meth:`matches`. Refused when the slice holds no item or
        every item, since there would be nothing to compare."""
        inside = np.array([self.matches(e) for e in test], dtype=bool)
        if not inside.any() or inside.all():
            which = "none" if not inside.any() else "all"
            raise SliceError(
                f"--slice {self.name}: {self.pattern.pattern!r} matches {which} of the {len(test)} test references"
            )
        return inside


def _labelled_share(cell: CellState, labels: int, pool_inside: Collection[Hashable]) -> float:
    """The share of the cell's first ``labels`` labelled examples (in the order they were
    chosen) that are in the slice."""
    chosen = [example_id for example_id, _ in cell.labeled[:labels]]
    return sum(example_id in pool_inside for example_id in chosen) / max(len(chosen), 1)


def slice_curves(
    cells: Sequence[CellState], inside: np.ndarray, pool_inside: Collection[Hashable]
) -> dict[str, dict[str, list[float]]]:
    """Per strategy: label counts, the main metric on the slice and on the rest, and the share of
    the labelled examples in the slice (``pool_inside``: ids of the pool examples it holds),
    each averaged over the cells (seeds) that reached the label count."""
    by_strategy: dict[str, dict[int, list[tuple[float, float, float]]]] = {}
    for cell in cells:
        points = by_strategy.setdefault(cell.strategy, {})
        for row, scores in zip(cell.rows, cell.item_scores, strict=True):
            scores = np.asarray(scores, dtype=float)
            if scores.shape != inside.shape:
                raise SliceError(
                    f"{cell.strategy} seed {cell.seed} scored {scores.size} test items but the test split has "
                    f"{inside.size}: the run was made on other data"
                )
            share = _labelled_share(cell, row["labels"], pool_inside)
            points.setdefault(row["labels"], []).append((scores[inside].mean(), scores[~inside].mean(), share))
    curves = {}
    for strategy, points in sorted(by_strategy.items()):
        labels = sorted(points)
        means = np.array([np.mean(points[n], axis=0) for n in labels])  # one (inside, outside, share) row per count
        curves[strategy] = {
            "labels": labels,
            "inside": means[:, 0].tolist(),
            "outside": means[:, 1].tolist(),
            "labelled_share": means[:, 2].tolist(),
            "seeds": [len(points[n]) for n in labels],
        }
    return curves


def format_slice_table(name: str, items: int, rest: int, metric: str, curves: dict[str, dict]) -> str:
    """A Markdown table: one column per label count; per strategy the metric on the slice and on
    the rest, and the share of its labels in the slice."""
    row_specs = ((f"{name} ({items} items)", "inside", ".3f"), (f"rest ({rest} items)", "outside", ".3f"),
                 (f"its labels in {name}", "labelled_share", ".0%"))
    rows = [
        (f"{strategy}: {title}", {n: format(v, number_format) for n, v in zip(curve["labels"], curve[key], strict=True)})
        for strategy, curve in curves.items()
        for title, key, number_format in row_specs
    ]
    return label_count_table(metric, rows)


@dataclass(frozen=True)
class SliceMembers:
    """What a slice holds: a mask over the test split and the ids of the pool examples in it."""

    test: np.ndarray
    pool: frozenset[Hashable]
    pool_size: int


def slice_members(data: BenchmarkData, slices: Sequence[ReferenceSlice]) -> dict[ReferenceSlice, SliceMembers]:
    """Each slice's members in the run's test split and pool (a bad slice fails here, through
    :meth:`ReferenceSlice.mask`)."""
    return {
        reference_slice: SliceMembers(
            test=reference_slice.mask(data.test),
            pool=frozenset(e.id for e in data.pool if reference_slice.matches(e)),
            pool_size=len(data.pool),
        )
        for reference_slice in slices
    }


def write_slice_report(
    root: Path, cells: Sequence[CellState], members: dict[ReferenceSlice, SliceMembers], metric: str
) -> dict[str, Any]:
    """Write ``slices.json``, ``slices.md`` and ``slice_<name>.png`` under ``root`` for the
    :func:`slice_members` of a run; return the slices' curves."""
    from benchmarks.plotting import plot_slice_curves
    from benchmarks.report import BASELINE

    report: dict[str, Any] = {}
    tables = []
    for reference_slice, member in members.items():
        name, pattern = reference_slice.name, reference_slice.pattern.pattern
        curves = slice_curves(cells, member.test, member.pool)
        items, rest = int(member.test.sum()), int((~member.test).sum())
        pool_share = len(member.pool) / member.pool_size
        report[name] = {"pattern": pattern, "items": items, "rest": rest, "pool_items": len(member.pool),
                        "pool_size": member.pool_size, "strategies": curves}
        table = format_slice_table(name, items, rest, metric, curves)
        tables.append(f"### {name}: references matching `{pattern}`\n\n"
                      f"{len(member.pool)} of the {member.pool_size} pool examples ({pool_share:.0%}) are in the slice."
                      f"\n\n{table}")
        plot_slice_curves(curves, name, metric, root / f"slice_{name}.png", baseline=BASELINE, pool_share=pool_share)
    (root / "slices.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (root / "slices.md").write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    return report
