import csv
import json

import pytest

from benchmarks.datasets import DataSpecError, load_examples, split
from training.example import Example

pytestmark = pytest.mark.unit


def test_csv_jsonl_and_json_files_load_with_custom_columns(tmp_path):
    rows = [{"question": f"q{i}", "answer": f"a{i}"} for i in range(3)]
    with (tmp_path / "d.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, ["question", "answer"])
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "d.json").write_text(json.dumps(rows))
    for name in ("d.csv", "d.jsonl", "d.json"):
        examples = load_examples(str(tmp_path / name), input_column="question", output_column="answer")
        assert [(e.id, e.input, e.output) for e in examples] == [(0, "q0", "a0"), (1, "q1", "a1"), (2, "q2", "a2")]


def test_missing_column_error_names_the_columns_found(tmp_path):
    (tmp_path / "d.jsonl").write_text(json.dumps({"prompt": "p", "completion": "c"}) + "\n")
    with pytest.raises(DataSpecError, match=r"no column\(s\) 'input', 'output'.*'prompt', 'completion'"):
        load_examples(str(tmp_path / "d.jsonl"))


def test_label_studio_export_takes_the_latest_kept_annotation(tmp_path):
    def textarea(text):
        return {"result": [{"from_name": "answer", "to_name": "q", "type": "textarea", "value": {"text": [text]}}]}

    tasks = [
        {"id": 11, "data": {"input": "q1"}, "annotations": [textarea("old"), textarea("new")]},
        {"id": 12, "data": {"input": "q2"}, "annotations": [textarea("kept"), {**textarea("x"), "was_cancelled": True}]},
        {"id": 13, "data": {"input": "q3", "output": "from data"}, "annotations": []},
        {"id": 14, "data": {"input": "unlabelled"}, "annotations": []},
    ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    examples = load_examples(str(tmp_path / "export.json"))
    assert [(e.id, e.output) for e in examples] == [(11, "new"), (12, "kept"), (13, "from data")]


def test_unknown_specs_and_missing_files_are_explained(tmp_path):
    with pytest.raises(DataSpecError, match="bigbench:<task>"):
        load_examples("squad")
    with pytest.raises(DataSpecError, match="does not exist"):
        load_examples(str(tmp_path / "nope.csv"))


def test_split_is_fixed_by_seed_and_disjoint():
    examples = [Example(i, f"q{i}", f"a{i}") for i in range(100)]
    first, again = split(examples, 20, 50, seed=3), split(examples, 20, 50, seed=3)
    assert [e.id for e in first.test] == [e.id for e in again.test]
    assert len(first.test) == 20 and len(first.pool) == 50
    assert not {e.id for e in first.test} & {e.id for e in first.pool}
    assert [e.id for e in split(examples, 20, 50, seed=4).test] != [e.id for e in first.test]


def test_split_refuses_a_test_set_as_large_as_the_data():
    with pytest.raises(DataSpecError, match="too few for a test split of 10"):
        split([Example(i, "q", "a") for i in range(10)], 10, None)
