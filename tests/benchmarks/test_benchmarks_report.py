import json

import pytest

from benchmarks.report import build_summary, format_curve_table, format_table, write_report
from benchmarks.store import CellState, RunStore

pytestmark = pytest.mark.unit


def _cell(strategy, seed, curve, cost_per_label=0.0, finished=True):
    rows = [
        {"strategy": strategy, "seed": seed, "iteration": i, "labels": labels, "cost": labels * cost_per_label,
         "exact_match": value, "time_train": 2.0}
        for i, (labels, value) in enumerate(curve)
    ]
    # Per-item scores whose mean is the curve value: 10 test items.
    scores = [[1.0] * round(value * 10) + [0.0] * (10 - round(value * 10)) for _, value in curve]
    return CellState(strategy, seed, rows=rows, item_scores=scores, finished=finished, stop_reason="done")


RANDOM = [[(50, 0.2), (100, 0.3), (150, 0.4)], [(50, 0.2), (100, 0.3), (150, 0.4)]]
GOOD = [[(50, 0.3), (100, 0.4), (150, 0.5)], [(50, 0.3), (100, 0.4), (150, 0.5)]]
BAD = [[(50, 0.1), (100, 0.2), (150, 0.3)]]


def _cells(cost_per_label=0.0):
    return (
        [_cell("random", s, c, cost_per_label) for s, c in enumerate(RANDOM)]
        + [_cell("good", s, c, cost_per_label) for s, c in enumerate(GOOD)]
        + [_cell("bad", s, c, cost_per_label) for s, c in enumerate(BAD)]
    )


def test_summary_reports_savings_against_random_final_quality_and_not_reached():
    summary = build_summary(_cells(), ["exact_match"])
    strategies = summary["strategies"]
    assert summary["target_quality"] == pytest.approx(0.4)
    assert strategies["good"]["labels_to_target"] == pytest.approx(100)
    assert strategies["good"]["savings_ratio"] == pytest.approx(1.5)
    assert strategies["bad"]["savings_ratio"] is None
    assert strategies["random"]["savings_ratio"] == pytest.approx(1.0)
    assert strategies["good"]["final_mean"] == pytest.approx(0.5)
    assert strategies["good"]["phase_seconds"]["train"] == pytest.approx(6.0)
    table = format_table(summary)
    assert "| bad | 1 | 150 | 0.300 ± 0.000 | 0.200 | not reached | not reached | -0.100 (p=" in table
    assert "| good | 2 | 150 | 0.500 ± 0.000 | 0.400 | 100 | 1.50x | +0.100 (p=" in table
    assert "| random | 2 | 150 | 0.400 ± 0.000 | 0.300 | 150 | 1.00x | - |" in table


def test_paired_tests_compare_each_label_count_on_the_seeds_both_ran():
    tests = build_summary(_cells(), ["exact_match"])["strategies"]["bad"]["paired_tests"]
    assert [t["labels"] for t in tests] == [50, 100, 150]
    assert all(t["seeds"] == 1 and t["n_items"] == 10 for t in tests)
    assert tests[0]["mean_difference"] == pytest.approx(-0.1)


def test_curve_table_gives_each_label_count_and_the_paired_difference_on_shared_seeds():
    # "late" stops at 80 labels, a count random never reached: no paired test there, "-" elsewhere.
    cells = _cells() + [_cell("late", 1, [(50, 0.5), (80, 0.6)])]
    lines = format_curve_table(build_summary(cells, ["exact_match"])).splitlines()
    assert lines[0] == "| exact_match | 50 | 80 | 100 | 150 |"
    bad = lines[lines.index("| bad (1 seed) | 0.100 ± 0.000 | - | 0.200 ± 0.000 | 0.300 ± 0.000 |") + 1]
    assert bad.startswith("| Δ vs random, seed 0 | -0.100 (p=") and bad.count("-0.100 (p=") == 3
    late = lines[lines.index("| late (1 seed) | 0.500 ± 0.000 | 0.600 ± 0.000 | - | - |") + 1]
    assert late.startswith("| Δ vs random, seed 1 | +0.300 (p=") and late.endswith(") | - | - | - |")
    assert lines[2] == "| random (2 seeds) | 0.200 ± 0.000 | - | 0.300 ± 0.000 | 0.400 ± 0.000 |"
    good = lines[lines.index("| good (2 seeds) | 0.300 ± 0.000 | - | 0.400 ± 0.000 | 0.500 ± 0.000 |") + 1]
    assert good.startswith("| Δ vs random, seeds 0, 1 | +0.100 (p=")


def test_unfinished_cells_are_left_out_unless_asked():
    cells = _cells() + [_cell("late", 0, [(50, 0.9)], finished=False)]
    assert "late" not in build_summary(cells, ["exact_match"])["strategies"]
    assert "late" in build_summary(cells, ["exact_match"], include_unfinished=True)["strategies"]


def test_priced_oracle_adds_cost_curves_and_cost_savings(tmp_path):
    store = RunStore(tmp_path)
    for cell in _cells(cost_per_label=0.01):
        store.save_cell(cell)
    summary = write_report(store, ["exact_match"])
    assert summary["strategies"]["good"]["cost_savings_ratio"] == pytest.approx(1.5)
    assert summary["strategies"]["good"]["cost_curve"]["cost"] == pytest.approx([0.5, 1.0, 1.5])
    for name in ("summary.json", "table.md", "curve_exact_match.png", "curve_exact_match_vs_random.png", "cost_curve.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "summary.json").read_text())["main_metric"] == "exact_match"
    assert "| good (2 seeds) | 0.300 ± 0.000 |" in (tmp_path / "table.md").read_text()
    assert (tmp_path / "curve_exact_match.png").read_bytes()[:4] == b"\x89PNG"


def test_the_difference_panels_need_a_strategy_paired_with_random(tmp_path):
    from benchmarks.plotting import plot_against_baseline

    alone = build_summary([_cell("random", 0, RANDOM[0])], ["exact_match"])
    assert plot_against_baseline(alone, "exact_match", tmp_path / "alone.png") is None
    assert not (tmp_path / "alone.png").exists()
    # "late" ran seed 5, which random did not: nothing to pair it with, so no panel and no file.
    unpaired = build_summary([_cell("random", 0, RANDOM[0]), _cell("late", 5, GOOD[0])], ["exact_match"])
    assert plot_against_baseline(unpaired, "exact_match", tmp_path / "unpaired.png") is None
    summary = build_summary(_cells(), ["exact_match"])
    assert plot_against_baseline(summary, "exact_match", tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"


def _pixels_of(png, color, tolerance=0.02):
    import matplotlib.image

    image = matplotlib.image.imread(png)[..., :3]
    return int((abs(image - color[:3]).max(axis=-1) < tolerance).sum())


def test_a_strategy_has_one_colour_in_every_plot_of_a_run(tmp_path):
    from benchmarks.plotting import line_style, plot_cost_curves, plot_learning_curves

    assert line_style("random", "random") == {"color": "black", "linestyle": "--"}
    colours = [line_style(name, "random")["color"] for name in ("huds", "idds", "facility_location", "nsp",
                                                               "te_delfy", "hadas", "mte", "bleuvar", "signal")]
    assert len(set(colours)) == len(colours)
    # The learning curve and the cost curve of one run draw each strategy in the same colour
    # (before, the cost curve took matplotlib's colour cycle with random in it, so a strategy
    # named after "random" came out one colour further on than in the learning curve).
    cells = _cells(cost_per_label=0.01) + [_cell("steady", s, c, 0.01) for s, c in enumerate(GOOD)]
    summary = build_summary(cells, ["exact_match"])
    curve = plot_learning_curves(summary, "exact_match", tmp_path / "curve.png")
    cost = plot_cost_curves(summary, tmp_path / "cost.png")
    for name in ("bad", "good", "steady"):
        colour = line_style(name, "random")["color"]
        assert _pixels_of(curve, colour) > 50 and _pixels_of(cost, colour) > 50, name
