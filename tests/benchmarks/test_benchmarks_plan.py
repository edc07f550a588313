import argparse

import pytest

from benchmarks.cli import add_bench_arguments, build_plans, run_bench
from benchmarks.plan import format_plan, plan_cells
from benchmarks.store import CellState, RunStore

pytestmark = pytest.mark.unit

MINUTE = 60.0


def _cell(strategy, seed, phases, finished=False, metrics=("exact_match",), quality=0.5):
    """A cell whose iteration i trained on ``50 * (i + 1)`` labels for ``phases[i]`` (train, score) minutes."""
    rows = [{"strategy": strategy, "seed": seed, "iteration": i, "labels": 50 * (i + 1), "cost": 0.0, **dict.fromkeys(metrics, quality),
             "time_train": train * MINUTE, "time_score": score * MINUTE} for i, (train, score) in enumerate(phases)]
    return CellState(strategy, seed, rows=rows, item_scores=[[0.5]] * len(rows), finished=finished)


def test_the_plan_says_what_each_cell_has_left_and_prices_it_at_its_strategys_pace():
    cells = {c.key: c for c in (
        _cell("random", 0, [(10, 0), (20, 0), (30, 0)], finished=True),  # 12 s per label
        _cell("nsp", 0, [(10, 0), (20, 40)]),  # part run; its own pace: 12 s per label + 40 min scoring
    )}
    wanted = [("random", 0), ("nsp", 0), ("idds", 0), ("random", 1)]
    progress = plan_cells(cells, [50, 100, 150], wanted, initial_point_saved=lambda seed: seed == 0)
    lines = format_plan(progress).splitlines()
    assert lines[:2] == ["| strategy | seed 0 | seed 1 | time left |", "|---|---|---|---|"]
    # random seed 1 runs all three iterations (no iteration 0 saved for seed 1): 10 + 20 + 30 min.
    assert lines[2] == "| random | done | - | about 1 h 00 min |"
    # nsp's last iteration at its own pace, scoring included: 150 labels -> 30 + 40 min.
    assert lines[3] == "| nsp | 2/3 |  | about 1 h 10 min |"
    # idds never ran: it copies seed 0's iteration 0 and trains at the others' pace without their
    # scoring, a lower bound: 20 + 30 min.
    assert lines[4] == "| idds | - |  | ≥ 50 min |"
    # idds's part is a lower bound, so the total is one too.
    assert lines[6] == "1 of 4 cells finished, 1 part run; ≥ 3 h 00 min left in all."
    assert "≥: no iteration of that strategy has scored the pool yet" in lines[7]


def test_a_run_bounded_only_by_money_has_no_time_left_to_give():
    progress = plan_cells({}, None, [("random", 0)], initial_point_saved=lambda seed: False)
    assert format_plan(progress).splitlines()[2] == "| random | - | unknown |"


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    return parser.parse_args(list(argv))


def test_plan_option_lists_the_cells_of_a_run_runs_nothing_and_refuses_other_settings(tmp_path, capsys):
    argv = ["--data", str(tmp_path / "qa.jsonl"), "--model", "tiny", "--strategies", "random", "idds",
            "--seeds", "0", "1", "--max-labels", "150", "--results-dir", str(tmp_path / "results"), "--precision", "fp32"]
    (plan,) = build_plans(_args(*argv))
    store = RunStore(plan.run_dir)
    store.check_config({**plan.config.to_json(), "strategies": plan.strategies, "seeds": plan.seeds})
    store.save_cell(_cell("random", 0, [(1, 0), (2, 0), (3, 0)], finished=True))

    assert run_bench(_args(*argv, "--plan")) == 0
    out = capsys.readouterr().out
    assert "4 cells; 3 iterations a cell (50 -> 150 labels)" in out
    assert "| random | done | - | about 6 min |" in out and "| idds | - | - | ≥ 12 min |" in out
    assert [c.key for c in store.cells()] == ["random__seed0"]

    assert run_bench(_args(*argv[:-6], "--max-labels", "200", *argv[-4:], "--plan")) == 2
    assert "was started with other settings (stopping:" in capsys.readouterr().err


def test_the_preset_plan_adds_its_top_up_seeds_for_random_and_the_best_strategies_so_far(tmp_path, capsys):
    argv = ["--preset", "default", "--data", "bigbench:qa_wikidata", "--results-dir", str(tmp_path)]
    (plan,) = build_plans(_args(*argv))
    store = RunStore(plan.run_dir)
    store.check_config({**plan.config.to_json(), "strategies": plan.strategies, "seeds": plan.seeds})
    for strategy, quality in (("random", 0.4), ("huds", 0.3), ("nsp", 0.6), ("idds", 0.5)):
        store.save_cell(_cell(strategy, 0, [(1, 0)] * 8, finished=True, metrics=plan.config.metrics, quality=quality))

    assert run_bench(_args(*argv, "--plan")) == 0
    out = capsys.readouterr().out
    assert "then seeds 3, 4 for random and the 2 best by AUC so far (nsp, idds)" in out
    assert "| random | done | - | - | - | - |" in out and "| nsp | done | - | - | - | - |" in out
    assert "| huds | done | - | - |  |  |" in out
