import argparse
import json

import pytest

import strategies
from benchmarks.cli import add_bench_arguments, build_plans, run_bench

pytestmark = pytest.mark.unit


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    return parser.parse_args(list(argv))


def _error(capsys, *argv):
    assert run_bench(_args(*argv)) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "--data is required (or pick a --preset: default, quick)"),
        (("--data", "x.csv", "--strategies", "random", "no_such"), "--strategies: unknown 'no_such'; available:"),
        (("--data", "x.csv", "--labeller", "oracle9"), "--labeller 'oracle9' is unknown; available:"),
        (("--data", "x.csv", "--query-size", "0"), "--query-size must be >= 1, got 0"),
        (("--data", "x.csv", "--pool-size", "10", "--initial-size", "20"), "--initial-size (20) exceeds --pool-size (10)"),
        (("--data", "x.csv", "--max-labels", "10"), "--max-labels (10) is below --initial-size (50)"),
        (("--data", "x.csv", "--train-param", "epochs"), "--train-param expects KEY=VALUE, got 'epochs'"),
        (("--data", "x.csv", "--strategy-param", "lambda=1"), "--strategy-param expects STRATEGY.KEY=VALUE"),
        (("--data", "x.csv", "--seeds", "1", "1"), "must not repeat a value"),
        (("--data", "x.csv", "--slice", "unknown"), "--slice expects NAME=REGEX"),
        (("--preset", "default", "--run-name", "r"), "--run-name names one run but preset 'default' has 2 data sets"),
        (("--data", "x.csv", "--train-param", "precision=bf16"), "set the precision with --precision"),
        (("--data", "x.csv", "--engine-param", "dtype=float16"), "set the precision with --precision"),
        (("--data", "x.csv", "--oracle-train-rows", "50"), "--oracle-train-rows fine-tunes the local labeller; got --labeller gold"),
        (("--data", "x.csv", "--labeller", "local", "--oracle-train-rows", "-1"), "--oracle-train-rows must be >= 0, got -1"),
    ],
)
def test_inconsistent_options_fail_with_a_message_naming_the_option(capsys, argv, message):
    assert message in _error(capsys, *argv)


def test_unreadable_data_is_reported_without_a_traceback(capsys, tmp_path):
    err = _error(capsys, "--data", str(tmp_path / "missing.jsonl"), "--results-dir", str(tmp_path))
    assert "atgen-ls bench: error: data file" in err and "does not exist" in err
    err = _error(capsys, "--data", "squad", "--results-dir", str(tmp_path))
    assert "use bigbench:<task>, hf:<name>" in err


def test_report_only_without_saved_results_says_so(capsys, tmp_path):
    err = _error(capsys, "--data", "bigbench:qa_wikidata", "--report-only", "--results-dir", str(tmp_path))
    assert "--report-only: no saved results in" in err and not (tmp_path / "qa_wikidata").exists()


def test_too_small_data_for_the_test_split_is_explained(capsys, tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"input": f"q{i}", "output": "a"}) + "\n" for i in range(5)))
    err = _error(capsys, "--data", str(path), "--test-size", "5", "--results-dir", str(tmp_path))
    assert "has 5 labelled rows: too few for a test split of 5" in err


def test_explicit_options_override_the_preset_and_key_values_parse_as_json():
    plan, = build_plans(_args("--preset", "quick", "--seeds", "7", "--train-param", "epochs=3",
                              "--train-param", "lr=2e-4", "--labeller-param", "model=small"))
    assert plan.seeds == [7] and plan.top_up_seeds == ()
    assert plan.config.train_params == {"epochs": 3, "lr": 2e-4}
    assert plan.config.labeller_params == {"model": "small"}
    assert plan.config.stopping.max_iterations == 2
    assert plan.run_dir.name == "qa_wikidata"


def test_default_preset_plans_both_tasks_with_the_issue_budget():
    plans = build_plans(_args("--preset", "default"))
    assert [p.config.data for p in plans] == ["bigbench:disfl_qa", "bigbench:qa_wikidata"]
    config = plans[0].config
    assert (config.pool_size, config.test_size, config.initial_size, config.query_size) == (1000, 500, 50, 50)
    assert config.stopping.max_labels == 400 and config.planned_iterations() == 8
    assert plans[0].top_up_seeds == (3, 4) and plans[0].strategies[0] == "random"
    issue_minimum = {"random", "huds", "idds", "facility_location", "nsp", "te_delfy"}
    assert issue_minimum <= set(plans[0].strategies) <= set(strategies.available())
    assert {p.config.precision for p in plans} == {"bf16"}  # the same on every machine that adds cells


def test_one_task_of_a_preset_keeps_the_preset_metrics_unless_told_otherwise():
    plan, = build_plans(_args("--preset", "default", "--data", "bigbench:qa_wikidata", "--strategies", "nsp"))
    assert plan.config.metrics == ("relaxed_exact_match", "token_f1") and plan.run_dir.name == "qa_wikidata"
    plan, = build_plans(_args("--preset", "default", "--data", "bigbench:qa_wikidata", "--metrics", "token_f1"))
    assert plan.config.metrics == ("token_f1",)
    plan, = build_plans(_args("--preset", "default", "--data", "other.jsonl"))
    assert plan.config.metrics == ("exact_match",)


def test_the_run_records_the_precision_auto_resolved_to(monkeypatch):
    import torch

    assert build_plans(_args("--preset", "quick", "--precision", "fp32"))[0].config.precision == "fp32"
    for native, resolved in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda native=native: native)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        plan, = build_plans(_args("--preset", "quick"))
        assert plan.config.precision == resolved and plan.config.to_json()["precision"] == resolved
