"""Run strategies x seeds of one experiment into one results folder, skipping finished work.

Seeds are the outer loop: after each seed every strategy has a comparable point, so a suite
stopped early still gives a fair (if noisier) comparison. A tqdm bar counts iterations over all
cells and shows how long is left (``benchmarks.eta``: the cost of an iteration grows with its
labels, which a flat average misses); finished cells and iterations are never redone.

Processes may share a results folder (disjoint strategies, one torch thread each). Iteration 0
of a seed is shared by its strategies, so the first process to reach a seed claims it
(``RunStore.claim_initial_point``); another one reaching that seed meanwhile runs a cell of a
later seed first, and waits only when nothing else is left, instead of computing the same
iteration 0 a second time.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from tqdm.auto import tqdm

from benchmarks.datasets import BenchmarkData
from benchmarks.eta import Pace, time_left_phrase
from benchmarks.loop import CellRunner, ExperimentConfig
from benchmarks.plan import labels_left
from benchmarks.report import write_report
from benchmarks.store import CellState, RunStore

logger = logging.getLogger(__name__)

# How often a process with nothing else to run looks again for another's iteration 0.
WAIT_POLL_SECONDS = 5.0


def remaining_labels(
    store: RunStore, config: ExperimentConfig, strategies: Sequence[str], seeds: Sequence[int]
) -> dict[str, list[int]] | None:
    """Per strategy, the label count of every iteration still to compute over its cells of the
    given seeds (``None`` when the plan has no fixed length); a new cell whose seed has a shared
    iteration 0 copies it."""
    planned = config.planned_labels()
    if planned is None:
        return None
    return {strategy: [labels for seed in seeds
                       for labels in labels_left(store.load_cell(strategy, seed), planned, store.has_initial_point(seed))]
            for strategy in strategies}


def run_suite(
    data: BenchmarkData,
    config: ExperimentConfig,
    strategies: Sequence[str],
    seeds: Sequence[int],
    store: RunStore,
    include_unfinished: bool = False,
    on_cell_finished: Callable[[CellState], None] | None = None,
) -> dict:
    """Run every (strategy, seed) cell not finished yet, then write the report; returns the summary.

    ``on_cell_finished`` is called with each cell this call finishes (not with cells finished
    before): ``CellRunner``'s ``on_finished``.
    """
    store.check_config({**config.to_json(), "strategies": list(strategies), "seeds": list(seeds)})
    left = remaining_labels(store, config, strategies, seeds)
    iterations_left = None if left is None else sum(map(len, left.values()))
    pace = Pace.of(store.cells())

    def time_left() -> str:
        by_strategy = remaining_labels(store, config, strategies, seeds)
        if by_strategy is None:
            return ""
        # Another process sharing the run may have computed an iteration 0 this one counted.
        bar.total = bar.n + sum(map(len, by_strategy.values()))
        pending = {strategy: labels for strategy, labels in by_strategy.items() if labels}
        seconds = [pace.seconds_for(strategy, labels) for strategy, labels in pending.items()]
        if not pending or None in seconds:
            return ""
        return f", {time_left_phrase(sum(seconds), any(map(pace.is_lower_bound, pending)))}"

    def on_iteration(state: CellState) -> None:
        pace.observe(state.strategy, state.rows[-1])
        bar.update(1)
        bar.set_postfix_str(f"{state.strategy} seed {state.seed}{time_left()}")

    # tqdm's own remaining time assumes equal iterations; the postfix carries ours instead.
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
    with tqdm(total=iterations_left, desc=f"bench {store.root.name}", unit="iter",
              dynamic_ncols=True, bar_format=bar_format if left is not None else None) as bar:
        if iterations_left:
            logger.info("%d iterations to run in %s%s", iterations_left, store.root, time_left())
        runner = CellRunner(data, config, store, on_iteration=on_iteration, on_finished=on_cell_finished)
        pending = [(strategy, seed) for seed in seeds for strategy in strategies]
        while pending:
            strategy, seed, claim = _next_cell(store, pending)
            pending.remove((strategy, seed))
            bar.set_postfix_str(f"{strategy} seed {seed}{time_left()}")
            try:
                runner.run(strategy, seed)
            finally:
                if claim is not None:
                    claim.release()
    return write_report(store, config.metrics, include_unfinished=include_unfinished)


def _next_cell(store: RunStore, pending: Sequence[tuple[str, int]]):
    """The first pending ``(strategy, seed)`` this process can run now, with the claim on the
    seed's iteration 0 when the cell will compute it (else None); waits while every pending cell
    needs an iteration 0 that another process is computing."""
    waiting_for: set[int] = set()
    while True:
        for strategy, seed in pending:
            if store.load_cell(strategy, seed) is not None or store.has_initial_point(seed):
                return strategy, seed, None
            claim = store.claim_initial_point(seed)
            if claim is not None:
                return strategy, seed, claim
            if seed not in waiting_for:
                logger.info("another process is computing iteration 0 of seed %d: its cells here wait for it", seed)
                waiting_for.add(seed)
        time.sleep(WAIT_POLL_SECONDS)


def best_strategies(summary: dict, count: int, baseline: str = "random") -> list[str]:
    """The ``count`` non-baseline strategies with the largest area under the main-metric curve."""
    ranked = sorted(
        (name for name in summary.get("strategies", {}) if name != baseline),
        key=lambda name: -summary["strategies"][name]["auc"],
    )
    return ranked[:count]
