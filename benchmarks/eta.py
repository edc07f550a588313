"""How long a benchmark run has left.

An iteration costs a fixed part (evaluating the test split, scoring the pool) plus a part that
grows with the labels it trains on, so a flat per-iteration average (tqdm's own estimate)
under-counts the late iterations: on ``bigbench:disfl_qa`` the 400-label iteration takes about
four times the 50-label one. :class:`IterationCostModel` fits ``seconds = a + b * labels`` to the
iterations it has seen and prices the ones left.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# The phases of an iteration whose wall times every curve row records (``benchmarks.loop``).
PHASES = ("time_score", "time_label", "time_train", "time_evaluate")


def iteration_seconds(row: dict) -> float:
    """Wall time of the iteration a curve row records: the sum of its phases."""
    return float(sum(row.get(phase, 0.0) for phase in PHASES))


class IterationCostModel:
    """``seconds = a + b * labels``, fitted by least squares to observed iterations.

    Iterations this process ran are preferred as soon as they span two label counts; before that
    the model uses ``prior`` rows (a resumed run's earlier iterations, maybe from a slower or
    faster machine), and without either it has no estimate.
    """

    def __init__(self, prior: Iterable[dict] = ()) -> None:
        self._prior = [(float(r["labels"]), iteration_seconds(r)) for r in prior]
        self._seen: list[tuple[float, float]] = []

    def observe(self, row: dict) -> None:
        self._seen.append((float(row["labels"]), iteration_seconds(row)))

    def _points(self) -> list[tuple[float, float]]:
        if len({labels for labels, _ in self._seen}) >= 2:
            return self._seen
        return self._seen + self._prior

    def seconds_for(self, labels: Sequence[int]) -> float | None:
        """Estimated seconds to run iterations training on these label counts (None: no data)."""
        points = self._points()
        if not points:
            return None
        if not labels:
            return 0.0
        x, y = (np.asarray(v, dtype=float) for v in zip(*points, strict=True))
        slope, intercept = np.polyfit(x, y, 1) if len(set(x)) >= 2 else (0.0, float(y.mean()))
        if slope < 0:  # noise on a flat cost: the mean is the better guess
            slope, intercept = 0.0, float(y.mean())
        return float(np.maximum(intercept + slope * np.asarray(labels, dtype=float), 0.0).sum())


def duration_phrase(seconds: float) -> str:
    """``"under 1 min"``, ``"3 min"``, ``"1 h 05 min"``: minutes are as fine as a multi-hour
    estimate deserves."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def estimate_phrase(seconds: float) -> str:
    """:func:`duration_phrase` as an estimate: ``"under 1 min"``, ``"about 1 h 05 min"``."""
    phrase = duration_phrase(seconds)
    return phrase if phrase.startswith("under") else f"about {phrase}"


def time_left_phrase(seconds: float) -> str:
    """``"under 1 min left"``, ``"about 1 h 05 min left"``."""
    return f"{estimate_phrase(seconds)} left"
