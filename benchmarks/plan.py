"""What a run has left (``--plan``): per strategy and seed, whether its cell is finished, part
run or not started, and how long the rest will take at the pace of the iterations already run.

The default suite takes tens of hours on a 2-core machine and is filled in over many sessions
and machines (``--archive``); this answers "which cells next, and do they fit in the time I
have?" without running anything.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from benchmarks.eta import Pace, estimate_phrase
from benchmarks.store import CellState, cell_key


def labels_left(cell: CellState | None, planned: Sequence[int], initial_point_saved: bool) -> list[int]:
    """The label count of each iteration a cell still has to run: all ``planned`` ones for a
    cell not started (less iteration 0 when its seed's shared iteration 0 is saved, since the
    cell copies it), none for a finished one, the rest for a part-run one."""
    if cell is None:
        return list(planned[1:] if initial_point_saved else planned)
    return [] if cell.finished else list(planned[len(cell.rows):])


@dataclass(frozen=True)
class CellProgress:
    """One cell of a plan: ``done`` of ``planned`` iterations (``planned`` None when only a
    money or quality target bounds the run) and the seconds the rest will take (None: no pace
    known yet, or no fixed length); ``lower_bound`` when no iteration of its strategy has scored
    the pool yet, so its pool scoring is not counted (:class:`benchmarks.eta.Pace`)."""

    strategy: str
    seed: int
    done: int
    planned: int | None
    finished: bool
    seconds_left: float | None
    lower_bound: bool = False


def plan_cells(
    cells: Mapping[str, CellState],
    planned_labels: Sequence[int] | None,
    cells_wanted: Sequence[tuple[str, int]],
    initial_point_saved: Callable[[int], bool],
) -> list[CellProgress]:
    """The progress of each ``(strategy, seed)`` in ``cells_wanted``, given the run's ``cells``
    by key and the label count of each planned iteration."""
    pace = Pace.of(cells.values())
    progress = []
    for strategy, seed in cells_wanted:
        cell = cells.get(cell_key(strategy, seed))
        done = len(cell.rows) if cell else 0
        finished = bool(cell and cell.finished)
        seconds = None
        if planned_labels is not None:
            seconds = pace.seconds_for(strategy, labels_left(cell, planned_labels, initial_point_saved(seed)))
        progress.append(CellProgress(strategy, seed, done, len(planned_labels) if planned_labels else None,
                                     finished, seconds, lower_bound=pace.is_lower_bound(strategy)))
    return progress


def _state(cell: CellProgress) -> str:
    if cell.finished:
        return "done"
    if cell.done == 0:
        return "-"
    return f"{cell.done}/{cell.planned}" if cell.planned else f"{cell.done} run"


def _seconds(cells: Sequence[CellProgress]) -> float | None:
    values = [c.seconds_left for c in cells if not c.finished]
    if any(v is None for v in values):
        return None
    return sum(values)


def format_plan(progress: Sequence[CellProgress]) -> str:
    """A Markdown table, one row per strategy and one column per seed ("done", "3/8" iterations
    run, "-" to run, blank: not planned), each row's time left, and a closing total."""
    strategies = list(dict.fromkeys(c.strategy for c in progress))
    seeds = sorted({c.seed for c in progress})
    by_key = {(c.strategy, c.seed): c for c in progress}
    lines = ["| strategy | " + " | ".join(f"seed {s}" for s in seeds) + " | time left |",
             "|---|" + "---|" * (len(seeds) + 1)]
    for strategy in strategies:
        row = [c for c in progress if c.strategy == strategy]
        seconds = _seconds(row)
        if all(c.finished for c in row):
            left = "-"
        elif seconds is None:
            left = "unknown"
        else:
            left = estimate_phrase(seconds, row[0].lower_bound)
        states = [_state(by_key[(strategy, s)]) if (strategy, s) in by_key else "" for s in seeds]
        lines.append(f"| {strategy} | " + " | ".join(states) + f" | {left} |")
    finished = sum(c.finished for c in progress)
    started = sum(not c.finished and c.done > 0 for c in progress)
    total = _seconds(progress)
    summary = f"{finished} of {len(progress)} cells finished, {started} part run"
    bound = any(c.lower_bound and not c.finished for c in progress)
    if finished < len(progress):
        if total is None:
            summary += "; time left unknown"
        else:
            summary += f"; {estimate_phrase(total, bound)} left in all"
    note = "Times: one process, at the pace of the iterations already run (on whichever machines ran them)"
    if bound:
        note += "; ≥: no iteration of that strategy has scored the pool yet, so its scoring is not counted"
    return "\n".join(lines + ["", summary + ".", note + "."])
