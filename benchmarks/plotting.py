"""PNG plots of a run summary: quality vs labels (mean line, ±1 std band over seeds), as in the
ATGen paper's figures; each strategy's paired difference to random, one panel each; and quality
vs oracle spend for priced labellers."""
from __future__ import annotations

import textwrap
import zlib
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: benchmarks run headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.markdown import counted  # noqa: E402
from benchmarks.presets import DEFAULT_STRATEGIES  # noqa: E402
from strategies import available  # noqa: E402

# Every strategy keeps one colour in every plot of every run (the learning curve, the
# vs-random panels, the cost and the slice plots, and BENCHMARKS.md's sections side by side),
# whichever other strategies a run holds: the default suite's in its order, then the rest of
# the registry; a name outside it (a test's) takes a leftover colour by a stable hash.
_KNOWN = [s for s in DEFAULT_STRATEGIES if s != "random"] + sorted(set(available()) - set(DEFAULT_STRATEGIES))
_PALETTE = [plt.get_cmap("tab10")(i) for i in range(10)] + [plt.get_cmap("tab20")(i) for i in range(1, 20, 2)]


def _draw(xlabel: str, ylabel: str, title: str, path: Path) -> Path:
    plt.xlabel(xlabel)
    plt.ylabel(ylabel)
    plt.title(title)
    plt.grid(alpha=0.3)
    # Beside the axes: with ten strategies a legend inside covers the curves it names.
    plt.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)
    plt.tight_layout()
    plt.savefig(path, dpi=120)
    plt.close()
    return path


def _legend(strategy: str, seeds: int) -> str:
    return f"{strategy} ({counted(seeds, 'seed')})"


def line_style(strategy: str, baseline: str | None) -> dict[str, Any]:
    """The colour that ``strategy`` gets in every plot; the baseline every savings figure refers
    to stands out, black and dashed."""
    if strategy == baseline:
        return {"color": "black", "linestyle": "--"}
    if strategy in _KNOWN:
        return {"color": _PALETTE[_KNOWN.index(strategy)]}
    leftover = len(_PALETTE) - len(_KNOWN)
    return {"color": _PALETTE[len(_KNOWN) + zlib.crc32(strategy.encode()) % leftover]}


def plot_learning_curves(summary: dict[str, Any], metric: str, path: Path, title: str | None = None) -> Path:
    """Plot ``metric`` against the number of labels for every strategy of ``summary``."""
    plt.figure(figsize=(8.0, 4.2))
    for name, entry in summary["strategies"].items():
        curve = entry["curves"][metric]
        x, mean, std = (np.asarray(curve[k], dtype=float) for k in ("labels", "mean", "std"))
        style = line_style(name, summary.get("baseline"))
        plt.plot(x, mean, marker="o", markersize=3, label=_legend(name, len(entry["seeds"])), **style)
        plt.fill_between(x, mean - std, mean + std, color=style["color"], alpha=0.15)
    return _draw("labelled examples", metric, title or f"{metric} vs labels (mean ± std over seeds)", path)


def plot_against_baseline(summary: dict[str, Any], metric: str, path: Path, alpha: float = 0.05) -> Path | None:
    """Small multiples of the paired difference to the baseline: one panel per strategy, its
    ``metric`` minus the baseline's at each label count on the seeds both ran, with the paired
    bootstrap's 95% interval over test items as a band and a filled marker where ``p < alpha``
    (``summary``'s ``paired_tests``). With ten strategies one plot of all the curves is a
    tangle, and its bands mix seed-to-seed spread with the gap; here each panel reads as "above
    zero: better than random". Draws nothing (returns None) when no strategy has paired tests."""
    baseline = summary.get("baseline")
    tested = {name: entry["paired_tests"] for name, entry in summary["strategies"].items()
              if name != baseline and entry.get("paired_tests")}
    if not tested:
        return None
    columns = min(len(tested), 4)
    rows = -(-len(tested) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.8 * rows), sharex=True, sharey=True,
                             squeeze=False)
    for axis, (name, tests) in zip(axes.flat, tested.items(), strict=False):
        x, diff, low, high = (np.asarray([t[k] for t in tests], dtype=float)
                              for k in ("labels", "mean_difference", "ci_low", "ci_high"))
        significant = np.asarray([t["p_value"] < alpha for t in tests])
        color = line_style(name, baseline)["color"]
        axis.axhline(0.0, color="black", linestyle="--", linewidth=1)
        axis.fill_between(x, low, high, color=color, alpha=0.2)
        axis.plot(x, diff, color=color, marker="o", markersize=3, markerfacecolor="white")
        axis.plot(x[significant], diff[significant], "o", color=color, markersize=6)
        axis.set_title(f"{name} ({counted(max(t['seeds'] for t in tests), 'seed')})", fontsize=10)
        axis.grid(alpha=0.3)
    for axis in axes.flat[len(tested):]:
        axis.set_visible(False)
    for axis in axes[-1]:
        axis.set_xlabel("labelled examples")
    for axis in axes[:, 0]:
        axis.set_ylabel(f"Δ {metric}")
    title = (f"{metric} minus {baseline}'s on the same seeds; band: 95% interval over test items; "
             f"filled: p<{alpha:g}")
    # Wrapped to the figure's width (at most 11 characters an inch at 10 pt): one line of it ran
    # past both edges of a figure of one or two panels.
    fig.suptitle(textwrap.fill(title, width=int(11 * 3.4 * columns)), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_cost_curves(summary: dict[str, Any], path: Path) -> Path:
    """Plot the main metric against the oracle's spend (dollars) for priced labellers."""
    plt.figure(figsize=(8.0, 4.2))
    for name, entry in summary["strategies"].items():
        if "cost_curve" in entry:
            plt.plot(entry["cost_curve"]["cost"], entry["cost_curve"]["mean"], marker="o", markersize=3,
                     label=_legend(name, len(entry["seeds"])), **line_style(name, summary.get("baseline")))
    # Spends of a few hundredths of a cent printed in full ran into each other: ×1e-4 instead.
    plt.ticklabel_format(axis="x", style="sci", scilimits=(-2, 4))
    metric = summary["main_metric"]
    return _draw("oracle spend ($)", metric, f"{metric} vs annotation cost", path)


def plot_slice_curves(
    curves: dict[str, dict], name: str, metric: str, path: Path, baseline: str, pool_share: float
) -> Path:
    """Three panels: ``metric`` vs labels on the slice ``name`` and on the rest of the test split,
    and the share of each strategy's labels in the slice against the pool's ``pool_share``
    (means over seeds; ``benchmarks.slices``)."""
    fig, axes = plt.subplots(1, 3, figsize=(16.5, 4.2))
    panels = ((axes[0], "inside", f"{metric} on {name}"), (axes[1], "outside", f"{metric} on rest"),
              (axes[2], "labelled_share", f"share of the labels in {name}"))
    for axis, key, title in panels:
        for strategy, curve in curves.items():
            axis.plot(curve["labels"], curve[key], marker="o", markersize=3,
                      label=_legend(strategy, max(curve["seeds"])), **line_style(strategy, baseline))
        axis.set_title(title)
        axis.set_xlabel("labelled examples")
        axis.grid(alpha=0.3)
    axes[1].sharey(axes[0])
    axes[0].set_ylabel(metric)
    axes[2].axhline(pool_share, color="grey", linestyle=":", label=f"pool ({pool_share:.0%})")
    axes[2].set_ylim(0, 1)
    # One legend for the three panels, beside them: inside, it covered the curves.
    axes[2].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
