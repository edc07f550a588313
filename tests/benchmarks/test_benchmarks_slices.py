"""Per-slice curves: the main metric on test items whose reference matches a pattern, and on the rest."""
import json

import numpy as np
import pytest

from benchmarks.datasets import BenchmarkData
from benchmarks.slices import ReferenceSlice, SliceError, slice_curves, slice_members, write_slice_report
from benchmarks.store import CellState
from training.example import Example

pytestmark = pytest.mark.unit

# Four test items; the first and the last are unanswerable.
TEST = [Example(0, "q0", "unknown"), Example(1, "q1", "Paris"), Example(2, "q2", ["Lyon", "lyon"]),
        Example(3, "q3", " unknown ")]
# A pool of ten: p0-p3 are unanswerable (40%).
POOL = [Example(f"p{i}", f"pq{i}", "unknown" if i < 4 else f"a{i}") for i in range(10)]
POOL_INSIDE = {"p0", "p1", "p2", "p3"}


def _cell(strategy, seed, points, chosen=("p0", "p4", "p5", "p1")):
    """``points``: ``(labels, per-item scores)`` per iteration; ``chosen``: the labelled pool ids in order."""
    rows = [{"strategy": strategy, "seed": seed, "iteration": i, "labels": n, "exact_match": float(np.mean(s))}
            for i, (n, s) in enumerate(points)]
    return CellState(strategy, seed, labeled=[(i, None) for i in chosen], rows=rows,
                     item_scores=[s for _, s in points], finished=True)


def test_parse_names_the_malformed_part():
    assert ReferenceSlice.parse("unanswerable=unknown").name == "unanswerable"
    with pytest.raises(SliceError, match="expects NAME=REGEX"):
        ReferenceSlice.parse("unknown")
    with pytest.raises(SliceError, match="expects NAME=REGEX"):
        ReferenceSlice.parse("no spaces=x")
    with pytest.raises(SliceError, match=r"--slice bad: '\(' is not a regular expression"):
        ReferenceSlice.parse("bad=(")


def test_mask_fully_matches_any_stripped_reference():
    assert ReferenceSlice.parse("unanswerable=unknown").mask(TEST).tolist() == [True, False, False, True]
    # Full match: "Par" is not "Paris"; any of several references may match.
    assert ReferenceSlice.parse("x=Par|lyon").mask(TEST).tolist() == [False, False, True, False]
    assert ReferenceSlice.parse("x=(?i)PARIS").mask(TEST).tolist() == [False, True, False, False]


def test_a_slice_of_no_item_or_every_item_is_refused():
    with pytest.raises(SliceError, match=r"--slice typo: 'unknwn' matches none of the 4 test references"):
        ReferenceSlice.parse("typo=unknwn").mask(TEST)
    with pytest.raises(SliceError, match="matches all of the 4"):
        ReferenceSlice.parse("any=.*").mask(TEST)


def test_curves_average_the_slice_and_the_rest_over_seeds():
    inside = np.array([True, False, False, True])
    cells = [
        _cell("random", 0, [(10, [1, 0, 0, 0]), (20, [1, 1, 0, 1])]),
        _cell("random", 1, [(10, [0, 0, 1, 0]), (20, [1, 1, 1, 1])]),
        _cell("fl", 0, [(10, [1, 0, 0, 1])]),
    ]
    curves = slice_curves(cells, inside, POOL_INSIDE)
    assert curves["random"]["labels"] == [10, 20]
    assert curves["random"]["inside"] == pytest.approx([0.25, 1.0])
    assert curves["random"]["outside"] == pytest.approx([0.25, 0.75])
    assert curves["random"]["seeds"] == [2, 2]
    assert curves["fl"] == {"labels": [10], "inside": [1.0], "outside": [0.0], "labelled_share": [0.5], "seeds": [1]}


def test_labelled_share_counts_the_first_labels_in_the_order_chosen():
    inside = np.array([True, False, False, True])
    cells = [_cell("huds", 0, [(1, [0] * 4), (3, [0] * 4), (4, [0] * 4)], chosen=["p0", "p4", "p5", "p1"]),
             _cell("huds", 1, [(1, [0] * 4), (3, [0] * 4), (4, [0] * 4)], chosen=["p6", "p2", "p3", "p7"])]
    # seed 0: 1/1, 1/3, 2/4; seed 1: 0/1, 2/3, 2/4.
    assert slice_curves(cells, inside, POOL_INSIDE)["huds"]["labelled_share"] == pytest.approx([0.5, 0.5, 0.5])
    assert slice_curves(cells[:1], inside, POOL_INSIDE)["huds"]["labelled_share"] == pytest.approx([1.0, 1 / 3, 0.5])


def test_scores_of_another_test_split_are_refused():
    with pytest.raises(SliceError, match="random seed 0 scored 3 test items but the test split has 4"):
        slice_curves([_cell("random", 0, [(10, [1, 0, 0])])], np.array([True, False, False, True]), POOL_INSIDE)


def test_report_writes_table_json_and_plot(tmp_path):
    cells = [_cell("random", 0, [(10, [1, 0, 0, 0]), (20, [1, 1, 0, 1])]), _cell("fl", 0, [(10, [1, 0, 0, 1])])]
    members = slice_members(BenchmarkData("qa", POOL, TEST), [ReferenceSlice.parse("unanswerable=unknown")])
    report = write_slice_report(tmp_path, cells, members, "exact_match")
    assert report["unanswerable"]["items"] == 2 and report["unanswerable"]["rest"] == 2
    assert report["unanswerable"]["pool_items"] == 4 and report["unanswerable"]["pool_size"] == 10
    table = (tmp_path / "slices.md").read_text()
    assert "4 of the 10 pool examples (40%) are in the slice." in table
    assert "| exact_match | 10 | 20 |" in table
    assert "| random: unanswerable (2 items) | 0.500 | 1.000 |" in table
    assert "| random: rest (2 items) | 0.000 | 0.500 |" in table
    assert "| fl: unanswerable (2 items) | 1.000 | - |" in table
    # random chose p0, p4, p5, p1: its first 10 and 20 labels are the same four, two unanswerable.
    assert "| random: its labels in unanswerable | 50% | 50% |" in table
    assert json.loads((tmp_path / "slices.json").read_text()) == report
    assert (tmp_path / "slice_unanswerable.png").read_bytes()[:4] == b"\x89PNG"
