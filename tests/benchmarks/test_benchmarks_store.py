import csv
import subprocess
import sys

import pytest

from benchmarks.store import CellState, ConfigMismatchError, RunStore

pytestmark = pytest.mark.unit


def _row(strategy, seed, iteration, labels, em):
    return {"strategy": strategy, "seed": seed, "iteration": iteration, "labels": labels, "cost": 0.0,
            "exact_match": em, "time_train": 1.5}


def test_cells_round_trip_and_curves_csv_lists_every_row(tmp_path):
    store = RunStore(tmp_path / "run")
    cell = CellState("random", 0, labeled=[("a", "x"), (7, "y")], skipped_ids=[3], rows=[_row("random", 0, 0, 2, 0.5)], item_scores=[[1, 0]])
    store.save_cell(cell)
    store.save_cell(CellState("huds", 1, rows=[_row("huds", 1, 0, 2, 0.25)], item_scores=[[0, 0.5]]))
    assert store.load_cell("random", 0) == cell
    assert store.load_cell("random", 5) is None
    with store.curves_path.open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["strategy"], r["seed"], r["exact_match"]) for r in rows] == [("huds", "1", "0.25"), ("random", "0", "0.5")]
    assert rows[0]["time_train"] == "1.5"


def test_a_rerun_with_other_settings_is_refused_with_the_differences_named(tmp_path):
    store = RunStore(tmp_path)
    store.check_config({"data": "bigbench:qa_wikidata", "query_size": 50, "strategies": ["random"], "seeds": [0]})
    with pytest.raises(ConfigMismatchError, match="query_size: was 50, now 20"):
        store.check_config({"data": "bigbench:qa_wikidata", "query_size": 20, "strategies": ["random"], "seeds": [0]})


def test_adding_strategies_or_seeds_extends_the_run(tmp_path):
    store = RunStore(tmp_path)
    store.check_config({"data": "x.csv", "strategies": ["random"], "seeds": [0, 1]})
    store.check_config({"data": "x.csv", "strategies": ["huds"], "seeds": [2]})
    import json

    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["strategies"] == ["huds", "random"] and saved["seeds"] == [0, 1, 2]


def test_a_crash_while_writing_leaves_the_previous_cell_intact(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    good = CellState("random", 0, rows=[_row("random", 0, 0, 2, 0.5)], item_scores=[[1, 0]])
    store.save_cell(good)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("benchmarks.store.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save_cell(CellState("random", 0, rows=[]))
    monkeypatch.undo()
    assert RunStore(tmp_path).load_cell("random", 0) == good


def test_a_run_saved_before_precision_existed_reads_as_float32(tmp_path):
    import json

    store = RunStore(tmp_path)
    old = {"data": "x.csv", "strategies": ["random"], "seeds": [0]}
    (tmp_path / "config.json").write_text(json.dumps(old))
    with pytest.raises(ConfigMismatchError, match="precision: was 'fp32', now 'bf16'"):
        store.check_config({**old, "precision": "bf16"})
    assert json.loads((tmp_path / "config.json").read_text()) == old  # a refused run writes nothing
    store.check_config({**old, "precision": "fp32"})
    assert json.loads((tmp_path / "config.json").read_text())["precision"] == "fp32"


def test_a_claim_on_iteration_zero_is_exclusive_per_seed_and_dies_with_its_process(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_CLAIM_ON_SEED_0, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "claimed"
        store = RunStore(tmp_path)
        assert store.claim_initial_point(0) is None  # another live process computes seed 0
        other_seed = store.claim_initial_point(1)
        assert other_seed is not None
        other_seed.release()
    finally:
        holder.kill()  # no clean-up code runs: the kernel drops the lock
        holder.wait()
    taken_over = RunStore(tmp_path).claim_initial_point(0)
    assert taken_over is not None
    taken_over.release()


_HOLD_CLAIM_ON_SEED_0 = """
import sys
from benchmarks.store import RunStore
claim = RunStore(sys.argv[1]).claim_initial_point(0)
print("claimed" if claim else "refused", flush=True)
sys.stdin.read()
"""


def test_an_oracle_setting_added_later_leaves_older_runs_as_they_were(tmp_path):
    from benchmarks.loop import ExperimentConfig
    from benchmarks.stopping import StoppingCriteria

    cells = {"strategies": ["random"], "seeds": [0]}
    gold = ExperimentConfig(data="x", metrics=("exact_match",), stopping=StoppingCriteria(max_labels=100))
    store = RunStore(tmp_path)
    store.check_config({**gold.to_json(), **cells})
    # A gold run's config.json is what it was before the option existed, so older code reads it.
    assert "oracle_train_rows" not in (tmp_path / "config.json").read_text()
    llm = ExperimentConfig(data="x", metrics=("exact_match",), stopping=StoppingCriteria(max_labels=100),
                           labeller="local", oracle_train_rows=300)
    with pytest.raises(ConfigMismatchError, match="oracle_train_rows: was 0, now 300"):
        store.check_config({**llm.to_json(), **cells})
