"""The quick configuration end to end: tiny model, real LoRA training, real strategies, gold oracle."""
import argparse
import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.cli import add_bench_arguments, run_bench
from benchmarks.curves import mean_curve, savings_ratio
from benchmarks.datasets import load_examples, split
from benchmarks.loop import TINY_MODEL, CellRunner, ExperimentConfig, resolve_model
from benchmarks.stopping import StoppingCriteria
from benchmarks.store import RunStore
from training.metrics import per_example

pytestmark = pytest.mark.integration

STRATEGIES = ["random", "nsp"]
SEEDS = [0, 1]
INITIAL, QUERY, ITERATIONS = 4, 4, 2


@pytest.fixture(scope="module")
def qa_file(tmp_path_factory):
    """Small arithmetic QA set: answers are short, so metrics are not all zero by construction."""
    path = tmp_path_factory.mktemp("data") / "sums.jsonl"
    rows = [{"input": f"What is {a} plus {b}?", "output": str(a + b)} for a in range(6) for b in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def _bench_args(results, data, *extra):
    """The smoke run's command line; ``extra`` options override the ones before them."""
    return [
        "--data", str(data), "--model", "tiny", "--strategies", *STRATEGIES, "--seeds", *map(str, SEEDS),
        "--pool-size", "20", "--test-size", "10", "--initial-size", str(INITIAL), "--query-size", str(QUERY),
        "--max-iterations", str(ITERATIONS), "--max-new-tokens", "4", "--metrics", "token_f1", "exact_match",
        "--train-param", "epochs=1", "--results-dir", str(results), "--run-name", "smoke", *extra,
    ]


def _bench(results, data, *extra):
    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    return run_bench(parser.parse_args(_bench_args(results, data, *extra)))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, qa_file, cache):
    results = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATGEN_CACHE_DIR", str(cache))
        assert _bench(results, qa_file) == 0
    return results / "smoke"


def _curves(run_dir):
    with (run_dir / "curves.csv").open() as f:
        return list(csv.DictReader(f))


def test_smoke_run_writes_curves_summary_table_and_plot(smoke_run):
    rows = _curves(smoke_run)
    assert len(rows) == len(STRATEGIES) * len(SEEDS) * (ITERATIONS + 1)
    for column in ("strategy", "seed", "iteration", "labels", "cost", "token_f1", "exact_match",
                   "time_train", "time_score", "time_label", "time_evaluate"):
        assert column in rows[0]
    assert sorted({int(r["labels"]) for r in rows}) == [INITIAL, INITIAL + QUERY, INITIAL + 2 * QUERY]
    assert all(float(r["time_train"]) > 0 and float(r["time_evaluate"]) > 0 for r in rows)
    for plot in ("curve_token_f1.png", "curve_token_f1_vs_random.png"):
        assert (smoke_run / plot).read_bytes()[:4] == b"\x89PNG"
    assert "| random | 2 |" in (smoke_run / "table.md").read_text()


def test_summary_savings_and_auc_match_the_curves_csv(smoke_run):
    summary = json.loads((smoke_run / "summary.json").read_text())
    assert summary["main_metric"] == "token_f1" and summary["cells_used"] == 4
    rows = _curves(smoke_run)

    def curve(strategy):
        c = mean_curve((int(r["labels"]), float(r["token_f1"])) for r in rows if r["strategy"] == strategy)
        return c.labels, c.mean

    random_curve, nsp_curve = curve("random"), curve("nsp")
    assert summary["target_quality"] == pytest.approx(random_curve[1][-1])
    assert summary["strategies"]["nsp"]["savings_ratio"] == (
        pytest.approx(savings_ratio(*random_curve, *nsp_curve)) if savings_ratio(*random_curve, *nsp_curve) else None
    )
    tests = summary["strategies"]["nsp"]["paired_tests"]
    assert [t["labels"] for t in tests] == [4, 8, 12] and all(t["n_items"] == 10 for t in tests)


def test_every_strategy_starts_from_the_same_initial_set_for_a_seed(smoke_run):
    store = RunStore(smoke_run)
    initial = {(c.strategy, c.seed): [i for i, _ in c.labeled[:INITIAL]] for c in store.cells()}
    for seed in SEEDS:
        assert initial[("random", seed)] == initial[("nsp", seed)]
    assert initial[("random", 0)] != initial[("random", 1)]
    for cell in store.cells():
        ids = [i for i, _ in cell.labeled]
        assert len(ids) == len(set(ids)) == INITIAL + ITERATIONS * QUERY


def test_rerun_skips_finished_cells(smoke_run, qa_file, cache, monkeypatch):
    before = (smoke_run / "curves.csv").read_text()
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    monkeypatch.setattr("benchmarks.loop.CellRunner._train", lambda *a, **k: pytest.fail("a finished cell was retrained"))
    assert _bench(smoke_run.parent, qa_file) == 0
    assert (smoke_run / "curves.csv").read_text() == before


def test_archive_keeps_finished_cells_without_labels_for_another_machine(smoke_run, qa_file, cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    archive = tmp_path / "archive"
    assert _bench(smoke_run.parent, qa_file, "--report-only", "--archive", str(archive)) == 0
    originals, kept = RunStore(smoke_run).cells(), RunStore(archive / "smoke").cells()
    assert [(c.strategy, c.seed) for c in kept] == [(c.strategy, c.seed) for c in originals]
    for archived, original in zip(kept, originals, strict=True):
        assert [i for i, _ in archived.labeled] == [i for i, _ in original.labeled]
        assert all(text is None for _, text in archived.labeled) and archived.adapter is None
        assert archived.rows == original.rows and archived.item_scores == original.item_scores
    assert not (archive / "smoke" / "adapters").exists()

    # Another machine: empty results/ plus the archive. Nothing is retrained, the table is the same.
    monkeypatch.setattr("benchmarks.loop.CellRunner._train", lambda *a, **k: pytest.fail("an archived cell was retrained"))
    snapshot = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    fresh = tmp_path / "fresh"
    assert _bench(fresh, qa_file, "--archive", str(archive)) == 0
    assert (fresh / "smoke" / "table.md").read_text() == (smoke_run / "table.md").read_text()
    assert {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()} == snapshot  # no churn in git
    # A report asking for seeds and strategies the archive lacks neither fails nor records them.
    more = ("--report-only", "--archive", str(archive), "--strategies", *STRATEGIES, "idds", "--seeds", *map(str, SEEDS), "7")
    assert _bench(tmp_path / "report", qa_file, *more) == 0
    assert {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()} == snapshot
    assert _bench(tmp_path / "other", qa_file, "--archive", str(archive), "--max-new-tokens", "5") == 2
    assert "max_new_tokens: was 4, now 5" in capsys.readouterr().err


def test_two_processes_sharing_a_run_compute_each_seeds_iteration_zero_once(tmp_path, qa_file, cache, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    resolve_model(TINY_MODEL)  # built here once, not by both processes at the same time
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks",
             *_bench_args(tmp_path, qa_file, "--strategies", strategy, "--max-iterations", "1", "--threads", "1")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for strategy in STRATEGIES
    ]
    logs = [process.communicate(timeout=600)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], "\n".join(logs)
    for seed in SEEDS:
        # One process trained and evaluated the seed's initial set; the other copied it.
        assert sum(log.count(f"seed {seed} starts from the shared initial point") for log in logs) == 1
    cells = {(cell.strategy, cell.seed): cell for cell in RunStore(tmp_path / "smoke").cells()}
    for seed in SEEDS:
        first, second = (cells[(strategy, seed)] for strategy in STRATEGIES)
        assert second.finished and {**second.rows[0], "strategy": first.strategy} == first.rows[0]


class _Killed(Exception):
    pass


def test_a_run_archives_each_cell_as_it_finishes_so_a_killed_run_keeps_them(qa_file, cache, tmp_path, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    run_cell = CellRunner.run

    def killed_in_the_second_cell(runner, strategy, seed):
        if (strategy, seed) != (STRATEGIES[0], SEEDS[0]):
            raise _Killed
        return run_cell(runner, strategy, seed)

    monkeypatch.setattr(CellRunner, "run", killed_in_the_second_cell)
    archive = tmp_path / "archive"
    with pytest.raises(_Killed):
        _bench(tmp_path / "results", qa_file, "--archive", str(archive))
    kept = RunStore(archive / "smoke").cells()
    assert [(c.strategy, c.seed, c.finished) for c in kept] == [(STRATEGIES[0], SEEDS[0], True)]
    assert len(kept[0].rows) == ITERATIONS + 1 and all(text is None for _, text in kept[0].labeled)


def test_a_killed_run_resumes_after_its_last_finished_iteration(tmp_path, qa_file, cache, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    config = ExperimentConfig(
        data=str(qa_file), metrics=("token_f1",), stopping=StoppingCriteria(max_iterations=ITERATIONS),
        test_size=10, pool_size=20, model="tiny", initial_size=INITIAL, query_size=QUERY,
        train_params={"epochs": 1}, max_new_tokens=4,
    )
    data = split(load_examples(config.data), config.test_size, config.pool_size, name=config.data)

    def kill_after_first_iteration(state):
        if len(state.rows) == 2:
            raise _Killed

    crashed = RunStore(tmp_path / "crashed")
    with pytest.raises(_Killed):
        CellRunner(data, config, crashed, on_iteration=kill_after_first_iteration).run("random", 0)
    saved = crashed.load_cell("random", 0)
    assert len(saved.rows) == 2 and not saved.finished

    resumed = CellRunner(data, config, crashed).run("random", 0)
    straight = CellRunner(data, config, RunStore(tmp_path / "straight")).run("random", 0)
    assert resumed.finished and len(resumed.rows) == ITERATIONS + 1
    assert resumed.rows[:2] == saved.rows[:2]  # the finished iterations were not redone
    assert resumed.labeled == straight.labeled
    assert [r["token_f1"] for r in resumed.rows] == pytest.approx([r["token_f1"] for r in straight.rows])
    # Only the latest adapter is kept on disk.
    kept = [p.name for p in (tmp_path / "crashed" / "adapters" / "random__seed0").iterdir()]
    assert len(kept) == 1 and kept[0].startswith("iteration2-")


def test_iteration_zero_is_trained_once_per_seed_and_shared_by_every_strategy(tmp_path, qa_file, cache, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    config = ExperimentConfig(
        data=str(qa_file), metrics=("token_f1",), stopping=StoppingCriteria(max_iterations=1),
        test_size=10, pool_size=20, model="tiny", initial_size=INITIAL, query_size=QUERY,
        train_params={"epochs": 1}, max_new_tokens=4,
    )
    data = split(load_examples(config.data), config.test_size, config.pool_size, name=config.data)
    trained_on = []
    real_train = CellRunner._train

    def counting_train(self, labeled, *args):
        trained_on.append(len(labeled))
        return real_train(self, labeled, *args)

    monkeypatch.setattr(CellRunner, "_train", counting_train)
    runner = CellRunner(data, config, RunStore(tmp_path))
    first, second = runner.run("random", 0), runner.run("nsp", 0)
    # random trained on the initial set and after one query; nsp only after its query.
    assert trained_on == [INITIAL, INITIAL + QUERY, INITIAL + QUERY]
    assert second.finished and len(second.rows) == 2
    assert second.labeled[:INITIAL] == first.labeled[:INITIAL]
    assert {**second.rows[0], "strategy": "random"} == first.rows[0]
    assert second.item_scores[0] == first.item_scores[0]
    # A run with another seed starts from its own initial set.
    assert runner.run("nsp", 1).labeled[:INITIAL] != first.labeled[:INITIAL]
    assert trained_on[3:] == [INITIAL, INITIAL + QUERY]


def test_llm_oracle_spend_is_counted_as_if_priced_and_plotted(tmp_path, qa_file, cache, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    from benchmarks.loop import resolve_model

    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    args = parser.parse_args([
        "--data", str(qa_file), "--model", "tiny", "--strategies", "random", "--seeds", "0",
        "--pool-size", "20", "--test-size", "10", "--initial-size", "4", "--query-size", "4",
        "--max-iterations", "2", "--max-new-tokens", "4", "--metrics", "token_f1", "--train-param", "epochs=1",
        "--labeller", "local", "--labeller-param", f"model={resolve_model('tiny')}", "--labeller-param", "max_tokens=8",
        "--price-as", "gpt-4o-mini", "--results-dir", str(tmp_path), "--run-name", "priced",
    ])
    assert run_bench(args) == 0
    costs = [float(r["cost"]) for r in _curves(tmp_path / "priced")]
    assert len(costs) == 3 and 0 < costs[0] < costs[1] < costs[2]
    # gpt-4o-mini: $0.15 / 1M input tokens: 4 short prompts cost far less than a cent.
    assert costs[0] < 1e-3
    assert (tmp_path / "priced" / "cost_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_a_local_oracle_fine_tuned_on_held_out_rows_labels_every_cell_and_its_label_quality_is_recorded(
    tmp_path, qa_file, cache, monkeypatch, capsys, caplog
):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    caplog.set_level("INFO", logger="training.transformers_engine")
    llm_oracle = ["--labeller", "local", "--labeller-param", "max_tokens=8", "--max-iterations", "1",
                  "--price-as", "gpt-4o-mini"]
    # 36 rows: 10 test + 20 pool leave 6 held out.
    assert _bench(tmp_path, qa_file, *llm_oracle, "--oracle-train-rows", "7") == 2
    assert "6 rows lie outside the test split and the pool, fewer than the 7" in capsys.readouterr().err
    assert _bench(tmp_path, qa_file, *llm_oracle, "--oracle-train-rows", "6") == 0
    run = tmp_path / "smoke"
    assert (run / "oracle" / "adapter_config.json").exists() and not list(run.glob("oracle-*.partial"))
    assert f"loaded adapter oracle from {run / 'oracle'}" in caplog.text  # the labeller answers with it
    data = split(load_examples(str(qa_file)), 10, 20)
    store = RunStore(run)
    for strategy in STRATEGIES:
        cell = store.load_cell(strategy, 0)
        gold = {e.id: e for e in data.pool}
        for row, labels in ((cell.rows[0], cell.labeled[:INITIAL]), (cell.rows[1], cell.labeled)):
            assert row["oracle_token_f1"] == pytest.approx(np.mean(
                per_example("token_f1", [text for _, text in labels], [gold[i].references for i, _ in labels])))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["strategies"]["nsp"]["oracle_curve"]["labels"] == [INITIAL, INITIAL + QUERY]
    table = (run / "table.md").read_text()
    assert "| random: spend (USD) |" in table and "| nsp: its labels' token_f1 vs gold |" in table
    assert "| strategy | spend to reach random's final token_f1 (USD) | cost savings |" in table
    assert "| random | " in table.split("cost savings |")[1] and "1.00x |" in table


def test_slices_split_the_main_metric_of_a_finished_run(smoke_run, qa_file, cache, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    assert _bench(smoke_run.parent, qa_file, "--report-only", "--slice", "small=[0-4]") == 0
    report = json.loads((smoke_run / "slices.json").read_text())["small"]
    assert (smoke_run / "slice_small.png").read_bytes()[:4] == b"\x89PNG"
    table = (smoke_run / "slices.md").read_text()
    assert "| random: small (4 items)" in table and "| random: its labels in small |" in table
    assert f"{report['pool_items']} of the {report['pool_size']} pool examples" in table and report["pool_items"] > 0
    # The slice and the rest together are the whole test split: their weighted means give the curve.
    summary = json.loads((smoke_run / "summary.json").read_text())
    for strategy, curve in report["strategies"].items():
        whole = summary["strategies"][strategy]["curves"]["token_f1"]["mean"]
        parts = [(report["items"] * a + report["rest"] * b) / (report["items"] + report["rest"])
                 for a, b in zip(curve["inside"], curve["outside"], strict=True)]
        assert parts == pytest.approx(whole)
        assert all(0 <= share <= 1 for share in curve["labelled_share"])


def test_a_slice_matching_no_test_item_fails_before_anything_runs(qa_file, cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(cache))
    monkeypatch.setattr("benchmarks.loop.CellRunner._train", lambda *a, **k: pytest.fail("trained despite a bad slice"))
    assert _bench(tmp_path, qa_file, "--slice", "words=[a-z]+") == 2
    assert "--slice words: '[a-z]+' matches none of the 10 test references" in capsys.readouterr().err
    assert RunStore(tmp_path / "smoke").cells() == []
