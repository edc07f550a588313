"""Per-slice curves: the main metric on test items whose reference matches a pattern, and on the rest."""
import json

import numpy as np
import pytest

from benchmarks.slices import ReferenceSlice, SliceError, slice_curves, slice_masks, write_slice_report
from benchmarks.store import CellState
from training.example import Example

pytestmark = pytest.mark.unit

# Four test items; the first and the last are unanswerable.
TEST = [Example(0, "q0", "unknown"), Example(1, "q1", "Paris"), Example(2, "q2", ["Lyon", "lyon"]),
        Example(3, "q3", " unknown ")]


def _cell(strategy, seed, points):
    """``points``: ``(labels, per-item scores)`` per iteration."""
    rows = [{"strategy": strategy, "seed": seed, "iteration": i, "labels": n, "exact_match": float(np.mean(s))}
            for i, (n, s) in enumerate(points)]
    return CellState(strategy, seed, rows=rows, item_scores=[s for _, s in points], finished=True)


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
    curves = slice_curves(cells, inside)
    assert curves["random"]["labels"] == [10, 20]
    assert curves["random"]["inside"] == pytest.approx([0.25, 1.0])
    assert curves["random"]["outside"] == pytest.approx([0.25, 0.75])
    assert curves["random"]["seeds"] == [2, 2]
    assert curves["fl"] == {"labels": [10], "inside": [1.0], "outside": [0.0], "seeds": [1]}


def test_scores_of_another_test_split_are_refused():
    with pytest.raises(SliceError, match="random seed 0 scored 3 test items but the test split has 4"):
        slice_curves([_cell("random", 0, [(10, [1, 0, 0])])], np.array([True, False, False, True]))


def test_report_writes_table_json_and_plot(tmp_path):
    cells = [_cell("random", 0, [(10, [1, 0, 0, 0]), (20, [1, 1, 0, 1])]), _cell("fl", 0, [(10, [1, 0, 0, 1])])]
    masks = slice_masks(TEST, [ReferenceSlice.parse("unanswerable=unknown")])
    report = write_slice_report(tmp_path, cells, masks, "exact_match")
    assert report["unanswerable"]["items"] == 2 and report["unanswerable"]["rest"] == 2
    table = (tmp_path / "slices.md").read_text()
    assert "| exact_match | 10 | 20 |" in table
    assert "| random: unanswerable (2 items) | 0.500 | 1.000 |" in table
    assert "| random: rest (2 items) | 0.000 | 0.500 |" in table
    assert "| fl: unanswerable (2 items) | 1.000 | - |" in table
    assert json.loads((tmp_path / "slices.json").read_text()) == report
    assert (tmp_path / "slice_unanswerable.png").read_bytes()[:4] == b"\x89PNG"
