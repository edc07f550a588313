"""How long a benchmark run has left.

An iteration trains on all the labels so far and evaluates the test split; every iteration after
the first also scores the pool with its strategy and has the oracle label the picks. Training
grows with the labels, so a flat per-iteration average (tqdm's own estimate) under-counts the late
iterations: on ``bigbench:disfl_qa`` the 400-label iteration takes about four times the 50-label
one. Pool scoring costs what the strategy costs (nothing for random, minutes per iteration for
BLEUVar's ten samples per prompt on qa_wikidata), and iteration 0 has none: fitting one line
through iteration 0 and iteration 1 of a BLEUVar cell read the scoring as a cost per label and
promised 8.5 hours for a cell of 2.5. :class:`IterationCostModel` therefore fits the two parts
apart, and :class:`Pace` keeps one model per strategy.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

# The phases of an iteration whose wall times every curve row records (``benchmarks.loop``).
PHASES = ("time_score", "time_label", "time_train", "time_evaluate")
# The phases of selecting and labelling a query: iteration 0's (the initial set) say nothing of them.
QUERY_PHASES = ("time_score", "time_label")
TRAINING_PHASES = ("time_train", "time_evaluate")


def iteration_seconds(row: dict, phases: Sequence[str] = PHASES) -> float:
    """Wall time of (some phases of) the iteration a curve row records."""
    return float(sum(row.get(phase, 0.0) for phase in phases))


def _is_query(row: dict) -> bool:
    return row["iteration"] > 0


class _LinearCost:
    """``seconds = a + b * labels`` (``b >= 0``) by least squares over the rows it is given,
    preferring this process's own rows as soon as they span two label counts (the others may
    come from a slower or faster machine)."""

    def __init__(self, phases: Sequence[str]) -> None:
        self.phases = phases
        self.prior: list[tuple[float, float]] = []
        self.seen: list[tuple[float, float]] = []

    def add(self, row: dict, own: bool) -> None:
        (self.seen if own else self.prior).append((float(row["labels"]), iteration_seconds(row, self.phases)))

    def seconds_for(self, labels: Sequence[int]) -> float | None:
        points = self.seen if len({x for x, _ in self.seen}) >= 2 else self.seen + self.prior
        if not points:
            return None
        x, y = (np.asarray(v, dtype=float) for v in zip(*points, strict=True))
        slope, intercept = np.polyfit(x, y, 1) if len(set(x)) >= 2 else (0.0, float(y.mean()))
        if slope < 0:  # noise on a flat cost: the mean is the better guess
            slope, intercept = 0.0, float(y.mean())
        return float(np.maximum(intercept + slope * np.asarray(labels, dtype=float), 0.0).sum())


class IterationCostModel:
    """Seconds for iterations to come, by the labels each trains on: training and evaluation
    fitted to every iteration seen, query selection and labelling to iterations after the first.

    ``prior`` rows (a resumed run's earlier iterations) stand in until this process has run
    iterations at two label counts; without either there is no estimate. Before any query
    iteration has been seen, the model prices training and evaluation alone
    (``prices_queries`` is False): a lower bound.
    """

    def __init__(self, prior: Iterable[dict] = ()) -> None:
        self._training = _LinearCost(TRAINING_PHASES)
        self._query = _LinearCost(QUERY_PHASES)
        for row in prior:
            self._add(row, own=False)

    def _add(self, row: dict, own: bool) -> None:
        self._training.add(row, own)
        if _is_query(row):
            self._query.add(row, own)

    def observe(self, row: dict) -> None:
        self._add(row, own=True)

    @property
    def prices_queries(self) -> bool:
        return bool(self._query.seen or self._query.prior)

    def seconds_for(self, labels: Sequence[int]) -> float | None:
        """Estimated seconds to run query iterations training on these label counts (None: no data)."""
        training = self._training.seconds_for(labels)
        if training is None:
            return None
        return training + (self._query.seconds_for(labels) or 0.0)


@dataclass
class Pace:
    """Seconds per iteration by label count, per strategy (their pool scoring costs differ by
    orders of magnitude): a strategy's own iterations once one of them has scored the pool; else
    the others' without their pool scoring (``borrowed``), a lower bound for a strategy that scores
    with the model."""

    own: dict[str, IterationCostModel] = field(default_factory=dict)
    borrowed: IterationCostModel = field(default_factory=IterationCostModel)

    @classmethod
    def of(cls, cells: Iterable) -> Pace:
        """From a run's cells (anything with ``strategy`` and curve ``rows``)."""
        grouped: dict[str, list[dict]] = {}
        for cell in cells:
            grouped.setdefault(cell.strategy, []).extend(cell.rows)
        return cls({name: IterationCostModel(rows) for name, rows in grouped.items()},
                   IterationCostModel(_without_scoring(row) for rows in grouped.values() for row in rows))

    def observe(self, strategy: str, row: dict) -> None:
        self.own.setdefault(strategy, IterationCostModel()).observe(row)
        self.borrowed.observe(_without_scoring(row))

    def _model(self, strategy: str) -> IterationCostModel:
        own = self.own.get(strategy)
        return own if own is not None and own.prices_queries else self.borrowed

    def is_lower_bound(self, strategy: str) -> bool:
        return self._model(strategy) is self.borrowed

    def seconds_for(self, strategy: str, labels: Sequence[int]) -> float | None:
        return self._model(strategy).seconds_for(labels)


def _without_scoring(row: dict) -> dict:
    return {**row, "time_score": 0.0}


def duration_phrase(seconds: float) -> str:
    """``"under 1 min"``, ``"3 min"``, ``"1 h 05 min"``: minutes are as fine as a multi-hour
    estimate deserves."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def estimate_phrase(seconds: float, lower_bound: bool = False) -> str:
    """:func:`duration_phrase` as an estimate (``"about 1 h 05 min"``, ``"under 1 min"``) or as
    a lower bound (``"≥ 1 h 05 min"``)."""
    phrase = duration_phrase(seconds)
    if lower_bound:
        return f"≥ {phrase}"
    return phrase if phrase.startswith("under") else f"about {phrase}"


def time_left_phrase(seconds: float, lower_bound: bool = False) -> str:
    """``"under 1 min left"``, ``"about 1 h 05 min left"``, ``"≥ 2 h 00 min left"``."""
    return f"{estimate_phrase(seconds, lower_bound)} left"
