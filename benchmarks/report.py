"""Turn the cells of a run into ``summary.json``, a Markdown table and plots.

Per strategy: mean ± std curves over seeds for every metric, the area under the main-metric
curve, the label-savings ratio against random (``benchmarks.curves``), a paired bootstrap test
against random at every label count (``benchmarks.significance``), and, where the oracle has a
price, the cost-to-quality curve and the cost-savings ratio; for an LLM oracle, the spend and
the quality of its labels against gold at every label count.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from benchmarks.curves import area_under_curve, labels_to_reach, mean_curve, savings_ratio
from benchmarks.markdown import counted, label_count_table
from benchmarks.significance import paired_bootstrap
from benchmarks.store import CellState, RunStore

logger = logging.getLogger(__name__)

BASELINE = "random"


def _metric_curves(cells: Sequence[CellState], metrics: Sequence[str]) -> dict[str, dict]:
    return {m: asdict(mean_curve((row["labels"], row[m]) for c in cells for row in c.rows)) for m in metrics}


def _cost_curve(cells: Sequence[CellState], main_metric: str) -> dict | None:
    """Mean (cost, quality) per iteration; ``None`` when the oracle is free."""
    by_iteration: dict[int, list[tuple[float, float]]] = {}
    for cell in cells:
        for row in cell.rows:
            by_iteration.setdefault(row["iteration"], []).append((row["cost"], row[main_metric]))
    iterations = sorted(by_iteration)
    costs = [float(np.mean([c for c, _ in by_iteration[i]])) for i in iterations]
    if not any(costs):
        return None
    quality = [float(np.mean([q for _, q in by_iteration[i]])) for i in iterations]
    return {"cost": costs, "mean": quality}


def _oracle_curve(cells: Sequence[CellState], main_metric: str) -> dict | None:
    """Per label count, the mean spend and the mean quality of the oracle's labels so far
    (``oracle_<main metric>`` of the rows); ``None`` for the gold oracle, whose rows lack it."""
    key = f"oracle_{main_metric}"
    rows = [row for cell in cells for row in cell.rows if key in row]
    if not rows:
        return None
    spend, quality = (mean_curve((row["labels"], row[k]) for row in rows) for k in ("cost", key))
    return {"labels": list(spend.labels), "spend": list(spend.mean), "quality": list(quality.mean)}


def _paired_tests(cells: Sequence[CellState], baseline: Sequence[CellState]) -> list[dict]:
    """Paired bootstrap against the baseline at each label count both reached, over the seeds
    both ran: per-item scores are averaged over those seeds, then resampled over test items."""
    base_by_seed = {c.seed: c for c in baseline}
    per_labels: dict[int, tuple[list, list]] = {}
    for cell in cells:
        base = base_by_seed.get(cell.seed)
        if base is None:
            continue
        base_scores = {row["labels"]: s for row, s in zip(base.rows, base.item_scores, strict=True)}
        for row, scores in zip(cell.rows, cell.item_scores, strict=True):
            if row["labels"] in base_scores:
                ours, theirs = per_labels.setdefault(row["labels"], ([], []))
                ours.append(scores)
                theirs.append(base_scores[row["labels"]])
    tests = []
    for labels in sorted(per_labels):
        ours, theirs = per_labels[labels]
        result = paired_bootstrap(np.mean(ours, axis=0), np.mean(theirs, axis=0))
        tests.append({"labels": labels, "seeds": len(ours), **result.to_dict()})
    return tests


def summarised_cells(cells: Sequence[CellState], include_unfinished: bool = False) -> list[CellState]:
    """The cells a report uses: unfinished ones are left out unless ``include_unfinished``
    (their curves are shorter and would bias the means)."""
    return [c for c in cells if c.rows and (c.finished or include_unfinished)]


def build_summary(
    cells: Sequence[CellState], metrics: Sequence[str], include_unfinished: bool = False
) -> dict[str, Any]:
    """The summary of a run over :func:`summarised_cells`; ``metrics[0]`` is the main metric."""
    main = metrics[0]
    used = summarised_cells(cells, include_unfinished)
    by_strategy: dict[str, list[CellState]] = {}
    for cell in used:
        by_strategy.setdefault(cell.strategy, []).append(cell)
    summary: dict[str, Any] = {
        "main_metric": main,
        "baseline": BASELINE,
        "cells_used": len(used),
        "cells_unfinished": sum(not c.finished for c in cells),
        "strategies": {},
    }
    baseline_cells = by_strategy.get(BASELINE, [])
    base_curve = mean_curve((r["labels"], r[main]) for c in baseline_cells for r in c.rows) if baseline_cells else None
    target = base_curve.mean[-1] if base_curve else None
    summary["target_quality"] = target
    for name, group in sorted(by_strategy.items()):
        curves = _metric_curves(group, metrics)
        main_curve = curves[main]
        entry: dict[str, Any] = {
            "seeds": sorted(c.seed for c in group),
            "curves": curves,
            "final_mean": main_curve["mean"][-1],
            "final_std": main_curve["std"][-1],
            "final_labels": main_curve["labels"][-1],
            "auc": area_under_curve(main_curve["labels"], main_curve["mean"]),
            "stop_reasons": sorted({c.stop_reason for c in group if c.stop_reason}),
            "phase_seconds": {
                phase: float(np.mean([sum(r.get(f"time_{phase}", 0.0) for r in c.rows) for c in group]))
                for phase in ("train", "score", "label", "evaluate")
            },
        }
        if base_curve is not None:
            entry["labels_to_target"] = labels_to_reach(main_curve["labels"], main_curve["mean"], target)
            entry["savings_ratio"] = savings_ratio(base_curve.labels, base_curve.mean, main_curve["labels"], main_curve["mean"])
            if name != BASELINE:
                entry["paired_tests"] = _paired_tests(group, baseline_cells)
        cost = _cost_curve(group, main)
        if cost is not None:
            entry["cost_curve"] = cost
        oracle = _oracle_curve(group, main)
        if oracle is not None:
            entry["oracle_curve"] = oracle
        summary["strategies"][name] = entry
    _add_cost_savings(summary)
    return summary


def _add_cost_savings(summary: dict[str, Any]) -> None:
    """Oracle spend random needs to reach the target divided by the strategy's spend."""
    base = summary["strategies"].get(BASELINE, {}).get("cost_curve")
    target = summary.get("target_quality")
    if base is None or target is None:
        return
    base_cost = labels_to_reach(base["cost"], base["mean"], target)
    for entry in summary["strategies"].values():
        cost = entry.get("cost_curve")
        if cost is None or base_cost is None:
            continue
        needed = labels_to_reach(cost["cost"], cost["mean"], target)
        entry["cost_to_target"] = needed
        entry["cost_savings_ratio"] = None if needed is None else base_cost / needed


def _fmt(value: float | None, spec: str = ".3f", unit: str = "") -> str:
    return "not reached" if value is None else format(value, spec) + unit


def _fmt_p(p_value: float) -> str:
    """``p<0.001``, ``p=0.004`` or ``p=0.37``: three decimals only where two would read as zero."""
    return "p<0.001" if p_value < 0.001 else f"p={p_value:{'.3f' if p_value < 0.01 else '.2f'}}"


def _final_test(entry: dict[str, Any]) -> str:
    tests = entry.get("paired_tests")
    if not tests:
        return "-"
    last = tests[-1]
    return f"{last['mean_difference']:+.3f} ({_fmt_p(last['p_value'])}, {counted(last['seeds'], 'seed')})"


def format_table(summary: dict[str, Any]) -> str:
    """A Markdown table: final quality, AUC, labels to reach random's final quality, savings,
    and the paired bootstrap difference to random at the last label count both reached."""
    main = summary["main_metric"]
    lines = [
        f"| strategy | seeds | labels | final {main} (mean ± std) | AUC | labels to reach random's final "
        "| label savings | Δ vs random at final labels |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, e in summary["strategies"].items():
        lines.append(
            f"| {name} | {len(e['seeds'])} | {e['final_labels']:g} | {e['final_mean']:.3f} ± {e['final_std']:.3f} "
            f"| {e['auc']:.3f} | {_fmt(e.get('labels_to_target'), '.0f')} | {_fmt(e.get('savings_ratio'), '.2f', 'x')} "
            f"| {_final_test(e)} |"
        )
    return "\n".join(lines)


def format_curve_table(summary: dict[str, Any]) -> str:
    """A Markdown table with one column per label count: per strategy the main metric's mean ±
    std over its seeds and, against random, the paired bootstrap difference and p-value at each
    count, over the seeds both ran (named in the row, since they may be fewer than either's)."""
    main, strategies = summary["main_metric"], summary["strategies"]
    base_seeds = set(strategies.get(BASELINE, {}).get("seeds", []))
    rows = []
    # Random first: the difference rows under every other strategy refer to it.
    for name, e in sorted(strategies.items(), key=lambda item: item[0] != BASELINE):
        curve = e["curves"][main]
        rows.append((
            f"{name} ({counted(len(e['seeds']), 'seed')})",
            {n: f"{m:.3f} ± {s:.3f}" for n, m, s in zip(curve["labels"], curve["mean"], curve["std"], strict=True)},
        ))
        tests = e.get("paired_tests")
        if tests:
            shared = sorted(base_seeds.intersection(e["seeds"]))
            rows.append((
                f"Δ vs {BASELINE}, {'seed' if len(shared) == 1 else 'seeds'} {', '.join(map(str, shared))}",
                {t["labels"]: f"{t['mean_difference']:+.3f} ({_fmt_p(t['p_value'])})" for t in tests},
            ))
    return label_count_table(main, rows)


def format_oracle_table(summary: dict[str, Any]) -> str | None:
    """For an LLM oracle (``None`` for gold): a Markdown table with one column per label count of
    each strategy's spend so far (mean over seeds) and how good its labels are against gold, then,
    for a priced oracle, the spend each strategy needs to reach random's final quality and the
    cost-savings ratio (the ATGen paper's "2-4x lower API cost" claim, measured)."""
    main, rows, savings = summary["main_metric"], [], []
    for name, e in sorted(summary["strategies"].items(), key=lambda item: item[0] != BASELINE):
        curve = e.get("oracle_curve")
        if curve is None:
            continue
        rows.append((f"{name}: spend (USD)", {n: f"{s:.6f}" for n, s in zip(curve["labels"], curve["spend"], strict=True)}))
        rows.append((f"{name}: its labels' {main} vs gold",
                     {n: f"{q:.3f}" for n, q in zip(curve["labels"], curve["quality"], strict=True)}))
        if "cost_to_target" in e:
            savings.append(f"| {name} | {_fmt(e['cost_to_target'], '.6f')} | {_fmt(e['cost_savings_ratio'], '.2f', 'x')} |")
    if not rows:
        return None
    table = label_count_table("oracle", rows)
    if savings:
        table += (f"\n\n| strategy | spend to reach random's final {main} (USD) | cost savings |\n|---|---|---|\n"
                  + "\n".join(savings))
    return table


def write_report(store: RunStore, metrics: Sequence[str], include_unfinished: bool = False) -> dict[str, Any]:
    """Write ``summary.json``, ``table.md`` (:func:`format_table`, :func:`format_curve_table` and,
    for an LLM oracle, :func:`format_oracle_table`) and the plots of a run; return the summary."""
    from benchmarks.plotting import plot_against_baseline, plot_cost_curves, plot_learning_curves

    summary = build_summary(store.cells(), metrics, include_unfinished=include_unfinished)
    if not summary["strategies"]:
        logger.warning("no finished cells in %s yet: nothing to summarise", store.root)
        return summary
    (store.root / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    oracle = format_oracle_table(summary)
    tables = "\n\n".join([format_table(summary), format_curve_table(summary)] + ([oracle] if oracle else [])) + "\n"
    (store.root / "table.md").write_text(tables, encoding="utf-8")
    metric = summary["main_metric"]
    plot_learning_curves(summary, metric, store.root / f"curve_{metric}.png")
    plot_against_baseline(summary, metric, store.root / f"curve_{metric}_vs_{summary['baseline']}.png")
    if any("cost_curve" in e for e in summary["strategies"].values()):
        plot_cost_curves(summary, store.root / "cost_curve.png")
    return summary
