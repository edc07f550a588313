"""Command line of the benchmark: ``atgen-ls bench`` (mounted by ``backend.cli``) and
``python -m benchmarks``.

``add_bench_arguments(parser)`` declares the options; ``run_bench(args)`` validates them (a
:class:`BenchArgumentError` names the offending option), runs every requested cell that is not
finished yet, and writes ``results/<run>/{curves.csv,summary.json,table.md,*.png}``.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bigbench_tasks import TaskNotFoundError
from benchmarks.datasets import DataSpecError
from benchmarks.markdown import counted
from benchmarks.presets import PRESETS, Task
from benchmarks.slices import ReferenceSlice, SliceError
from benchmarks.store import ConfigMismatchError

logger = logging.getLogger(__name__)



class BenchArgumentError(ValueError):
    """The benchmark options are inconsistent or unknown; the message names the option."""


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the benchmark options on ``parser`` (a sub-command parser or a fresh one)."""
    data = parser.add_argument_group("data")
    data.add_argument("--preset", choices=sorted(PRESETS), help="a named configuration; explicit options override it")
    data.add_argument("--data", help="bigbench:<task>, hf:<name>[:<config>], or a .csv/.json/.jsonl file "
                      "(input/output columns, or a Label Studio JSON export)")
    data.add_argument("--input-column", default="input", help="input column / Label Studio data field")
    data.add_argument("--output-column", default="output", help="output column / Label Studio data field")
    data.add_argument("--test-size", type=int, help="fixed test split size (default 500)")
    data.add_argument("--pool-size", type=int, help="cap on the unlabeled pool (default 1000)")
    data.add_argument("--data-seed", type=int, default=0, help="seed of the test/pool split (default 0)")

    loop = parser.add_argument_group("active learning")
    loop.add_argument("--strategies", nargs="+", help="strategies to compare (default: random)")
    loop.add_argument("--seeds", nargs="+", type=int, help="selection seeds; same seed, same initial set (default 0 1 2)")
    loop.add_argument("--initial-size", type=int, help="initial labelled set size (default 50)")
    loop.add_argument("--initial-strategy", default="random", help="strategy choosing the initial set (default random)")
    loop.add_argument("--query-size", type=int, help="examples queried per iteration (default 50)")
    loop.add_argument("--strategy-param", action="append", default=[], metavar="STRATEGY.KEY=VALUE",
                      help="a strategy hyperparameter, e.g. huds.lambda_=0.5 (repeatable)")
    loop.add_argument("--labeller", default="gold", help="oracle: gold (default) or an LLM labeller (local, openai, ...)")
    loop.add_argument("--labeller-param", action="append", default=[], metavar="KEY=VALUE", help="labeller parameter (repeatable)")
    loop.add_argument("--oracle-train-rows", type=int, default=0, metavar="N",
                      help="with --labeller local: fine-tune the oracle first on N labelled rows outside the test split "
                      "and the pool (an LLM that knows the task but never saw the items it labels); once per run")
    loop.add_argument("--price-as", metavar="MODEL", help="count the oracle's answers at this API model's list price "
                      "(e.g. gpt-4o-mini), for the free local labeller")

    stop = parser.add_argument_group("stopping criteria (the first that holds ends a cell)")
    stop.add_argument("--max-labels", type=int, help="label budget, initial set included (default 400)")
    stop.add_argument("--max-iterations", type=int, help="query iterations after the initial set")
    stop.add_argument("--money-budget", type=float, help="oracle spend in USD")
    stop.add_argument("--target-metric", type=float, help="stop once the main metric reaches this value")

    model = parser.add_argument_group("model")
    model.add_argument("--model", help="model name or folder (default SmolLM2-135M-Instruct; 'tiny' = random tiny model)")
    model.add_argument("--engine", default="transformers", help="inference engine kind (default transformers)")
    model.add_argument("--engine-param", action="append", default=[], metavar="KEY=VALUE", help="engine option (repeatable)")
    model.add_argument("--train-param", action="append", default=[], metavar="KEY=VALUE",
                       help="training.lora.TrainConfig field, e.g. epochs=3 (repeatable)")
    model.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                       help="training and inference precision; auto (default; the default preset: bf16): bf16 where "
                       "the CPU (AVX512-BF16, AMX) or GPU computes it natively, else fp32. The run records the resolved value")
    model.add_argument("--metrics", nargs="+", help="metrics; the first is the main one (default exact_match, or the preset's for one of its data sets)")
    model.add_argument("--max-new-tokens", type=int, help="answer length on the test split and in pool scoring (default 32)")
    model.add_argument("--threads", type=int, help="torch CPU threads (share the machine: 1 is polite)")

    out = parser.add_argument_group("results")
    out.add_argument("--results-dir", default="results", help="folder of all runs (default results/)")
    out.add_argument("--run-name", help="run folder name (default: derived from --data)")
    out.add_argument("--include-unfinished", action="store_true", help="summarise cells that have not finished")
    out.add_argument("--report-only", action="store_true", help="rebuild summary and plots from saved cells; run nothing")
    out.add_argument("--plan", action="store_true", help="list the cells finished, part run and left (with --archive, "
                     "the archived ones too) and how long the rest will take at the pace of those run; run nothing")
    out.add_argument("--slice", action="append", default=[], metavar="NAME=REGEX",
                     help="also report the main metric on the test items whose reference fully matches REGEX and on "
                     "the rest, e.g. unanswerable=unknown (repeatable; works with --report-only)")
    out.add_argument("--archive", metavar="DIR", help="keep finished cells (curves, per-item scores, chosen ids; no labels "
                     "or adapters) in DIR/<run> for git, and take the cells found there as done")


_DEFAULTS: dict[str, Any] = dict(
    strategies=["random"], seeds=[0, 1, 2], test_size=500, pool_size=1000, initial_size=50, query_size=50,
    metrics=["exact_match"], max_new_tokens=32, model=None, precision="auto",
)


@dataclass(frozen=True)
class RunPlan:
    """One results folder to fill: its data, configuration, strategies and seeds."""

    run_dir: Path
    config: Any  # benchmarks.loop.ExperimentConfig (imported lazily: it pulls in torch)
    strategies: list[str]
    seeds: list[int]
    top_up_seeds: tuple[int, ...] = ()
    top_up_best: int = 0
    slices: tuple[ReferenceSlice, ...] = ()


def parse_key_values(items: list[str], option: str) -> dict[str, Any]:
    """``["epochs=3", "name=x"]`` -> ``{"epochs": 3, "name": "x"}``; values are JSON when they parse."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BenchArgumentError(f"{option} expects KEY=VALUE, got {item!r}")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def _strategy_params(items: list[str]) -> dict[str, dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for item in items:
        name, dot, rest = item.partition(".")
        if not dot:
            raise BenchArgumentError(f"--strategy-param expects STRATEGY.KEY=VALUE, got {item!r}")
        grouped.setdefault(name, {}).update(parse_key_values([rest], "--strategy-param"))
    return grouped


def _run_name(data: str) -> str:
    name = data.split(":", 1)[1] if re.match(r"^(bigbench|hf):", data) else Path(data).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _positive(name: str, value: int | float | None, allow_zero: bool = False) -> None:
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        raise BenchArgumentError(f"--{name.replace('_', '-')} must be {'>= 0' if allow_zero else '>= 1'}, got {value}")


def _setting(args: argparse.Namespace, preset: dict[str, Any], name: str) -> Any:
    value = getattr(args, name, None)
    if value is not None and value != []:
        return value
    if name in preset:
        return preset[name]
    return _DEFAULTS.get(name)


def _check_names(strategies: list[str], initial_strategy: str, labeller: str, preset_strategies: bool) -> list[str]:
    from labellers import available as available_labellers
    from strategies import available as available_strategies

    known = available_strategies()
    if labeller not in available_labellers():
        raise BenchArgumentError(f"--labeller {labeller!r} is unknown; available: {', '.join(available_labellers())}")
    if initial_strategy not in known:
        raise BenchArgumentError(f"--initial-strategy {initial_strategy!r} is unknown; available: {', '.join(known)}")
    missing = [s for s in strategies if s not in known]
    if missing and not preset_strategies:
        raise BenchArgumentError(f"--strategies: unknown {', '.join(map(repr, missing))}; available: {', '.join(known)}")
    if missing:
        logger.warning("preset strategies not available yet, skipped: %s", ", ".join(missing))
    return [s for s in strategies if s in known]


def _price_model(model: str | None) -> str | None:
    if model is not None:
        from labellers import UnknownPriceError
        from labellers.pricing import resolve_price

        try:
            resolve_price(model)
        except UnknownPriceError as exc:
            raise BenchArgumentError(f"--price-as: {exc}") from None
    return model


def _resolved_precision(precision: str) -> str:
    from training.models import default_device
    from training.precision import resolve_precision

    resolved = resolve_precision(precision, default_device())
    if resolved != precision:
        logger.info("precision %s: %s on this machine", precision, resolved)
    return resolved


def build_plans(args: argparse.Namespace) -> list[RunPlan]:
    """Validate the options and turn them into run plans (one per data set)."""
    from benchmarks.loop import ExperimentConfig
    from benchmarks.stopping import StoppingCriteria

    preset = PRESETS[args.preset] if args.preset else None
    options = dict(preset.options) if preset else {}
    if args.data:
        # A preset's own data set keeps the preset's metrics (the archived cells were scored with them).
        preset_metrics = {task.data: task.metrics for task in preset.tasks} if preset else {}
        tasks = [Task(args.data, preset_metrics.get(args.data) or tuple(_setting(args, {}, "metrics")))]
    elif preset:
        tasks = list(preset.tasks)
    else:
        raise BenchArgumentError("--data is required (or pick a --preset: " + ", ".join(sorted(PRESETS)) + ")")
    if len(tasks) > 1 and args.run_name:
        raise BenchArgumentError(f"--run-name names one run but preset {args.preset!r} has {len(tasks)} data sets")
    strategies = list(_setting(args, options, "strategies"))
    seeds = list(_setting(args, options, "seeds"))
    if len(set(strategies)) != len(strategies) or len(set(seeds)) != len(seeds):
        raise BenchArgumentError("--strategies and --seeds must not repeat a value")
    strategies = _check_names(strategies, args.initial_strategy, args.labeller, preset_strategies=not args.strategies)
    numbers = {name: _setting(args, options, name) for name in ("test_size", "pool_size", "initial_size", "query_size", "max_new_tokens")}
    for name, value in numbers.items():
        _positive(name, value)
    for name in ("max_labels", "max_iterations", "threads"):
        _positive(name, _setting(args, options, name), allow_zero=name == "max_iterations")
    _positive("money_budget", args.money_budget, allow_zero=True)
    _positive("oracle_train_rows", args.oracle_train_rows, allow_zero=True)
    if args.oracle_train_rows and args.labeller != "local":
        raise BenchArgumentError(f"--oracle-train-rows fine-tunes the local labeller; got --labeller {args.labeller}")
    if numbers["initial_size"] > numbers["pool_size"]:
        raise BenchArgumentError(f"--initial-size ({numbers['initial_size']}) exceeds --pool-size ({numbers['pool_size']})")
    max_labels = _setting(args, options, "max_labels")
    max_iterations = _setting(args, options, "max_iterations")
    if max_labels is None and max_iterations is None and args.money_budget is None and args.target_metric is None:
        max_labels = 400  # the issue-6 budget: 50 initial + 50 per iteration up to 400
    if max_labels is not None and max_labels < numbers["initial_size"]:
        raise BenchArgumentError(f"--max-labels ({max_labels}) is below --initial-size ({numbers['initial_size']})")
    stopping = StoppingCriteria(max_iterations, max_labels, args.money_budget, args.target_metric)

    train_params = {**options.get("train_params", {}), **parse_key_values(args.train_param, "--train-param")}
    engine_params = parse_key_values(args.engine_param, "--engine-param")
    if "precision" in train_params or "dtype" in engine_params:
        raise BenchArgumentError("set the precision with --precision, not --train-param precision= or --engine-param dtype=")
    try:
        slices = tuple(ReferenceSlice.parse(spec) for spec in args.slice)
    except SliceError as exc:
        raise BenchArgumentError(str(exc)) from None
    common = dict(
        stopping=stopping, test_size=numbers["test_size"], pool_size=numbers["pool_size"], data_seed=args.data_seed,
        input_column=args.input_column, output_column=args.output_column, model=_setting(args, options, "model"),
        engine=args.engine, engine_params=engine_params, precision=_resolved_precision(_setting(args, options, "precision")),
        initial_size=numbers["initial_size"], query_size=numbers["query_size"], initial_strategy=args.initial_strategy,
        strategy_params=_strategy_params(args.strategy_param), labeller=args.labeller,
        labeller_params=parse_key_values(args.labeller_param, "--labeller-param"), price_as=_price_model(args.price_as),
        oracle_train_rows=args.oracle_train_rows,
        train_params=train_params,
        max_new_tokens=numbers["max_new_tokens"],
    )
    return [
        RunPlan(
            run_dir=Path(args.results_dir) / (args.run_name or _run_name(task.data)),
            config=ExperimentConfig(data=task.data, metrics=tuple(args.metrics or task.metrics), **common),
            strategies=strategies,
            seeds=seeds,
            top_up_seeds=preset.top_up_seeds if preset and not args.seeds else (),
            top_up_best=preset.top_up_best if preset else 0,
            slices=slices,
        )
        for task in tasks
    ]


def _execute(plan: RunPlan, args: argparse.Namespace) -> dict:
    """Restore archived cells, run (or only report) the plan, report its slices, archive its
    finished cells."""
    from benchmarks.archive import RunArchive
    from benchmarks.report import summarised_cells, write_report
    from benchmarks.slices import slice_members, write_slice_report
    from benchmarks.store import RunStore

    config = plan.config
    archive = RunArchive(Path(args.archive) / plan.run_dir.name) if args.archive else None
    if args.report_only and not (plan.run_dir / "cells").is_dir() and not (archive and archive.exists):
        where = f" or in the archive {str(archive.root)!r}" if archive else ""
        raise BenchArgumentError(f"--report-only: no saved results in {str(plan.run_dir)!r}{where}")
    store = RunStore(plan.run_dir)
    run_config = {**config.to_json(), "strategies": plan.strategies, "seeds": plan.seeds}
    if archive:
        archive.restore_into(store, run_config)
    if args.plan:
        store.check_config(run_config, record=False)  # a plan for other settings would mislead
        sys.stdout.write(_plan_text(plan, store) + "\n\n")
        return {}
    data = _load_split(config) if plan.slices or not args.report_only else None
    members = slice_members(data, plan.slices) if plan.slices else {}  # a bad slice fails before the run
    if args.report_only:
        summary = write_report(store, config.metrics, include_unfinished=args.include_unfinished)
    else:
        keep_cell = (lambda cell: archive.keep_cell(cell, run_config)) if archive else None
        summary = _run(plan, data, store, args.include_unfinished, keep_cell)
    if members:
        cells = summarised_cells(store.cells(), args.include_unfinished)
        write_slice_report(store.root, cells, members, config.metrics[0])
        logger.info("slices of the test split in %s", store.root / "slices.md")
    if archive:
        archive.keep(store, run_config)
    return summary


def _plan_text(plan: RunPlan, store) -> str:
    """``--plan``'s report of one run: its cells' progress, the preset's top-up seeds for random
    and the best strategies by AUC so far, and the time left."""
    from benchmarks.plan import format_plan, plan_cells
    from benchmarks.report import build_summary

    config = plan.config
    cells = {cell.key: cell for cell in store.cells()}
    wanted = [(strategy, seed) for seed in plan.seeds for strategy in plan.strategies]
    heading = f"{store.root}: {counted(len(wanted), 'cell')}"
    if plan.top_up_seeds:
        chosen = _top_up_strategies(plan, build_summary(list(cells.values()), config.metrics))
        wanted += [(strategy, seed) for seed in plan.top_up_seeds for strategy in chosen]
        best = chosen[1:]
        ranked = f"the {plan.top_up_best} best by AUC so far ({', '.join(best)})" if len(best) == plan.top_up_best \
            else f"the {plan.top_up_best} best by AUC (of those finished so far: {', '.join(best) or 'none'})"
        heading += f", then seeds {', '.join(map(str, plan.top_up_seeds))} for random and {ranked}"
    planned = config.planned_labels()
    if planned:
        heading += f"; {counted(len(planned), 'iteration')} a cell ({planned[0]} -> {planned[-1]} labels)"
    progress = plan_cells(cells, planned, wanted, store.has_initial_point)
    return heading + "\n\n" + format_plan(progress)


def _load_split(config):
    """The run's fixed test split and pool."""
    from benchmarks.datasets import load_examples, split
    from benchmarks.oracle import check_oracle_rows

    examples = load_examples(config.data, config.input_column, config.output_column)
    data = split(examples, config.test_size, config.pool_size, seed=config.data_seed, name=config.data)
    if len(data.pool) < config.initial_size:
        raise BenchArgumentError(f"{config.data}: pool has {len(data.pool)} examples, fewer than --initial-size {config.initial_size}")
    check_oracle_rows(data, config.oracle_train_rows)
    return data


def _run(plan: RunPlan, data, store, include_unfinished: bool, on_cell_finished=None) -> dict:
    """Run the plan's unfinished cells (then its top-up seeds) and report; returns the summary.

    ``on_cell_finished`` receives each cell as it finishes (``run_suite``)."""
    from benchmarks.report import format_table
    from benchmarks.suite import run_suite

    config = plan.config
    summary = run_suite(data, config, plan.strategies, plan.seeds, store, include_unfinished, on_cell_finished)
    if plan.top_up_seeds:
        chosen = _top_up_strategies(plan, summary)
        logger.info("more seeds %s for %s", list(plan.top_up_seeds), ", ".join(chosen))
        summary = run_suite(data, config, chosen, list(plan.top_up_seeds), store, include_unfinished, on_cell_finished)
    if summary.get("strategies"):
        logger.info("results in %s\n%s", store.root, format_table(summary))
    return summary


def _top_up_strategies(plan: RunPlan, summary: dict) -> list[str]:
    """The strategies a preset runs its top-up seeds for: random and the best by AUC in ``summary``."""
    from benchmarks.suite import best_strategies

    return ["random", *best_strategies(summary, plan.top_up_best)]


# Errors caused by the user's data or settings: reported in one line, without a traceback.
USER_ERRORS = (BenchArgumentError, DataSpecError, TaskNotFoundError, ConfigMismatchError, SliceError)


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed ``args``; returns a process exit code."""
    try:
        plans = build_plans(args)
    except BenchArgumentError as exc:
        sys.stderr.write(f"atgen-ls bench: error: {exc}\n")
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    for plan in plans:
        try:
            _execute(plan, args)
        except USER_ERRORS as exc:
            sys.stderr.write(f"atgen-ls bench: error: {exc}\n")
            return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    add_bench_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_bench(parser.parse_args(argv))
