"""Markdown pieces shared by the run report (``benchmarks.report``) and the slice report
(``benchmarks.slices``): tables with one column per label count, and counted nouns."""
from __future__ import annotations

from collections.abc import Mapping, Sequence


def counted(n: int, noun: str) -> str:
    """``1 seed``, ``3 seeds``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def label_count_table(corner: str, rows: Sequence[tuple[str, Mapping[float, str]]]) -> str:
    """A Markdown table with one column per label count found in ``rows``: ``corner`` heads the
    title column and each row is a title and its formatted cells by label count ("-" where the
    row has no cell for a count)."""
    labels = sorted({n for _, cells in rows for n in cells})
    lines = [f"| {corner} | " + " | ".join(f"{n:g}" for n in labels) + " |", "|---|" + "---|" * len(labels)]
    lines += [f"| {title} | " + " | ".join(cells.get(n, "-") for n in labels) + " |" for title, cells in rows]
    return "\n".join(lines)
