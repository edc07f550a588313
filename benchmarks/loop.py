"""The simulated active-learning loop of the ATGen paper, one strategy x seed at a time.

ATGen (Tsvigun et al., 2025, ACL System Demonstrations, arXiv 2506.23342) simulates annotation
by replaying a labelled dataset: labels of the selected examples are revealed by an oracle
(``gold``, or an LLM labeller whose spend is counted). Per cell:

1. iteration 0: the initial set is chosen by ``initial_strategy`` with the cell's seed only, so
   every strategy starts from the same examples for a given seed (comparable curves);
2. each iteration: query ``query_size`` pool examples with the strategy (scored by the model of
   the previous iteration), label them with the oracle, retrain the LoRA adapter on all labels
   starting from the previous adapter, evaluate on the fixed test split;
3. stop when a :class:`~benchmarks.stopping.StoppingCriteria` holds.

Every iteration is saved before the next begins (``benchmarks.store``), so a killed run
resumes at the last finished iteration. Iteration 0 depends on the seed alone: it is computed
once per seed and copied into the other strategies' cells. Wall time per phase (score, label,
train, evaluate) is recorded in each row.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.cache import cache_dir
from benchmarks.datasets import BenchmarkData
from benchmarks.evaluation import evaluate
from benchmarks.oracle import oracle_adapter
from benchmarks.oracle_cost import as_if_priced, token_counter
from benchmarks.stopping import StoppingCriteria
from benchmarks.store import CellState, RunStore
from labellers import get_labeller
from strategies import get_strategy_with_length
from training import get_engine
from training.example import Example
from training.lora import TrainConfig, train_adapter
from training.metrics import compute
from training.precision import precision_dtype_name
from training.tiny import build_tiny_model

logger = logging.getLogger(__name__)

# Selection seeds differ per iteration (a strategy's tie-breaking or sampling must not repeat the
# same draw every round) but stay disjoint between cells seeded 0, 1, 2, ...
_ITERATIONS_PER_SEED = 1000


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines a run's curves. Saved as ``config.json``; a rerun must match it
    (apart from the lists of strategies and seeds, which extend the run)."""

    data: str
    metrics: tuple[str, ...]
    stopping: StoppingCriteria
    test_size: int = 500
    pool_size: int | None = 1000
    data_seed: int = 0
    input_column: str = "input"
    output_column: str = "output"
    model: str | None = None
    engine: str = "transformers"
    engine_params: dict[str, Any] = field(default_factory=dict)
    initial_size: int = 50
    query_size: int = 50
    initial_strategy: str = "random"
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    labeller: str = "gold"
    labeller_params: dict[str, Any] = field(default_factory=dict)
    # With the local labeller: fine-tune it first on this many held-out rows (benchmarks.oracle).
    oracle_train_rows: int = 0
    price_as: str | None = None
    train_params: dict[str, Any] = field(default_factory=dict)
    max_new_tokens: int = 32
    # Training and inference precision, resolved ("fp32" or "bf16"): every cell of a run computes
    # alike, whichever machine runs it.
    precision: str = "fp32"

    def __post_init__(self):
        if self.precision not in RESOLVED_PRECISIONS:
            raise ValueError(
                f"precision must be one of {RESOLVED_PRECISIONS} (got {self.precision!r}); "
                "resolve 'auto' first with training.precision.resolve_precision"
            )

    @property
    def main_metric(self) -> str:
        return self.metrics[0]

    def to_json(self) -> dict[str, Any]:
        settings = asdict(self)
        settings["metrics"] = list(self.metrics)
        if not self.oracle_train_rows:
            # Unset, it stays out of config.json: runs (and archives in git) from before the
            # option keep their files, and older code can still read newer runs.
            del settings["oracle_train_rows"]
        return settings

    def planned_iterations(self) -> int | None:
        """Iterations a cell will run (initial set included) if no early stop; ``None`` when
        only a money or quality target bounds it."""
        bounds = []
        if self.stopping.max_iterations is not None:
            bounds.append(self.stopping.max_iterations + 1)
        if self.stopping.max_labels is not None:
            extra = max(self.stopping.max_labels - self.initial_size, 0)
            bounds.append(1 + -(-extra // self.query_size))
        return min(bounds) if bounds else None

    def planned_labels(self) -> list[int] | None:
        """The label count each planned iteration trains on (see :meth:`planned_iterations`);
        the last batch is cut to the label budget, as ``StoppingCriteria.next_batch_size`` does."""
        planned = self.planned_iterations()
        if planned is None:
            return None
        cap = self.stopping.max_labels if self.stopping.max_labels is not None else float("inf")
        return [int(min(self.initial_size + i * self.query_size, cap)) for i in range(planned)]


@contextmanager
def _timed(times: dict[str, float], phase: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        times[f"time_{phase}"] = times.get(f"time_{phase}", 0.0) + time.perf_counter() - start


TINY_MODEL = "tiny"
RESOLVED_PRECISIONS = ("fp32", "bf16")
# Engines that load the model themselves, in the run's precision; a server engine has its own.
_ENGINES_WITH_DTYPE = ("transformers", "vllm")


def resolve_model(name: str | None) -> str | None:
    """``"tiny"`` is the random tiny Llama of ``training.tiny`` (built once into the cache; for
    plumbing checks only); any other name goes to ``training`` unchanged (None: SmolLM2)."""
    if name != TINY_MODEL:
        return name
    path = cache_dir() / "models" / "tiny-llama"
    if not (path / "config.json").exists():
        build_tiny_model(path)
    return str(path)


def initial_ids(pool: Sequence[Example], config: ExperimentConfig, seed: int, engine_factory) -> list[Hashable]:
    """The initial labelled set of every cell with this seed, whatever strategy the cell tests."""
    strategy = get_strategy_with_length(
        config.initial_strategy, config.strategy_params.get(config.initial_strategy, {}), config.max_new_tokens
    )
    model = engine_factory(None) if strategy.needs_model else None
    return strategy.select(pool, config.initial_size, model=model, seed=seed)


class CellRunner:
    """Runs (or resumes) one strategy x seed of an experiment."""

    def __init__(
        self,
        data: BenchmarkData,
        config: ExperimentConfig,
        store: RunStore,
        on_iteration: Callable[[CellState], None] | None = None,
        on_finished: Callable[[CellState], None] | None = None,
    ) -> None:
        """``on_iteration`` is called after each iteration this runner computes and saves (not for
        a copied initial point); ``on_finished`` once, when a run of this runner finishes a cell
        (e.g. to archive it before a later cell is interrupted)."""
        self.data = data
        self.config = config
        self.store = store
        self.on_iteration = on_iteration
        self.on_finished = on_finished
        # Strategies see the pool without its gold outputs: nothing can leak the answers.
        self.hidden_pool = [Example(e.id, e.input, None, dict(e.meta)) for e in data.pool]
        self.gold_by_id = {e.id: e for e in data.pool}
        self.model = resolve_model(config.model)
        self._labeller_params: dict[str, Any] | None = None

    def make_engine(self, adapter: str | None):
        options = dict(self.config.engine_params)
        if self.config.engine in _ENGINES_WITH_DTYPE:
            options["dtype"] = precision_dtype_name(self.config.precision)
        return get_engine(self.config.engine, model=self.model, adapter=adapter, **options)

    def run(self, strategy_name: str, seed: int) -> CellState:
        config = self.config
        state = self.store.load_cell(strategy_name, seed)
        if state is None:
            state = self._start_cell(strategy_name, seed)
        elif state.finished:
            return state
        elif state.rows:
            logger.info("resuming %s seed %d after iteration %d", strategy_name, seed, len(state.rows) - 1)
        self.store.prune_adapters(strategy_name, seed, keep=state.adapter)
        # Pool scoring generates answers as long as the test split's, and stops as early.
        strategy = get_strategy_with_length(
            strategy_name, config.strategy_params.get(strategy_name, {}), config.max_new_tokens
        )
        labeller = get_labeller(config.labeller, **self.labeller_params())
        engine = self.make_engine(state.adapter) if state.adapter and strategy.needs_model else None
        while True:
            labeled = [Example(i, self.gold_by_id[i].input, text) for i, text in state.labeled]
            done = {i for i, _ in state.labeled} | set(state.skipped_ids)
            unlabeled = [e for e in self.hidden_pool if e.id not in done]
            iteration = len(state.rows)
            if state.rows:
                reason = config.stopping.reason_to_stop(
                    iteration=iteration - 1, labels=len(labeled), spent=state.spent,
                    metric=state.rows[-1][config.main_metric], pool_left=len(unlabeled),
                )
                if reason is None and labeller.is_out_of_budget:
                    reason = "labeller budget exhausted"
                if reason is not None:
                    return self._finish(state, reason)
            times: dict[str, float] = {}
            with _timed(times, "score"):
                if iteration == 0:
                    query = initial_ids(self.hidden_pool, config, seed, self.make_engine)
                else:
                    size = config.stopping.next_batch_size(config.query_size, len(labeled), len(unlabeled))
                    query = strategy.select(
                        unlabeled, size, labeled=labeled, model=engine, seed=seed * _ITERATIONS_PER_SEED + iteration
                    )
            with _timed(times, "label"):
                new_labels, cost, skipped = self._label(labeller, query, labeled)
            if not new_labels:
                state.skipped_ids += skipped
                return self._finish(state, "the oracle labelled none of the queried examples")
            labeled += [Example(i, self.gold_by_id[i].input, text) for i, text in new_labels]
            adapter_dir = self.store.adapter_dir(strategy_name, seed, iteration)
            with _timed(times, "train"):
                self._train(labeled, adapter_dir, state.adapter, seed)
            with _timed(times, "evaluate"):
                engine = self.make_engine(str(adapter_dir))
                result = evaluate(engine, self.data.test, config.metrics, config.max_new_tokens)
            state.labeled += new_labels
            state.skipped_ids += skipped
            state.spent += cost
            state.adapter = str(adapter_dir)
            state.rows.append({
                "strategy": strategy_name, "seed": seed, "iteration": iteration, "labels": len(labeled),
                "cost": state.spent, **result.scores, **self._oracle_quality(labeled), **times,
            })
            state.item_scores.append(result.item_scores[config.main_metric])
            self.store.save_cell(state)
            if iteration == 0:
                self.store.save_initial_point(state)
            self.store.prune_adapters(strategy_name, seed, keep=state.adapter)
            logger.info(
                "%s seed %d iteration %d: %d labels, %s=%.4f", strategy_name, seed, iteration,
                len(labeled), config.main_metric, result.scores[config.main_metric],
            )
            if self.on_iteration is not None:
                self.on_iteration(state)

    def _finish(self, state: CellState, reason: str) -> CellState:
        """Mark the cell finished, save it and tell ``on_finished``."""
        state.finished, state.stop_reason = True, reason
        self.store.save_cell(state)
        logger.info("%s seed %d stopped: %s", state.strategy, state.seed, reason)
        if self.on_finished is not None:
            self.on_finished(state)
        return state

    def _start_cell(self, strategy_name: str, seed: int) -> CellState:
        """A new cell: a copy of its seed's initial point when another strategy has computed it
        (saving a training run and a test evaluation per cell), else an empty one."""
        state = self.store.initial_point(strategy_name, seed)
        if state is None:
            return CellState(strategy_name, seed)
        logger.info("%s seed %d starts from the shared initial point of seed %d", strategy_name, seed, seed)
        self.store.save_cell(state)
        return state

    def labeller_params(self) -> dict[str, Any]:
        """The oracle's parameters: the configured ones, plus the run's oracle adapter when the
        local labeller is to be fine-tuned first (``benchmarks.oracle``; trained on first use)."""
        if self._labeller_params is None:
            params = dict(self.config.labeller_params)
            if self.config.oracle_train_rows:
                model = params.setdefault("model", self.model)
                # The adapter learned the training prompt, which has no system prompt of its own
                # ("" keeps the labeller's annotator instructions out), and answers as long as the
                # test split's.
                params.setdefault("system_prompt", "")
                params.setdefault("max_tokens", self.config.max_new_tokens)

                def train(examples, output_dir):
                    train_adapter(model, examples, str(output_dir), config=self._train_config(self.config.data_seed))

                params["adapter"] = str(oracle_adapter(self.store.root, self.data, self.config.oracle_train_rows, train))
            self._labeller_params = params
        return self._labeller_params

    def _label(self, labeller, query: Sequence[Hashable], labeled: Sequence[Example]):
        """Ask the oracle; returns ``(id, label)`` pairs, the spend (its own, or as if priced at
        ``price_as``), and ids it failed on."""
        examples = [self.gold_by_id[i] for i in query]
        annotations = labeller.annotate(examples, labeled=labeled)
        if self.config.price_as:
            cost = as_if_priced(annotations, examples, self.config.price_as, token_counter(labeller))
        else:
            cost = float(sum(a.cost for a in annotations))
        new_labels = [(a.example_id, a.text) for a in annotations if a.ok]
        failed = [a for a in annotations if not a.ok]
        for annotation in failed:
            logger.warning("oracle gave no label for %r: %s", annotation.example_id, annotation.error)
        # Examples left out for lack of budget may be asked again later; failed answers not.
        skipped = [a.example_id for a in failed if not a.budget_exhausted]
        return new_labels, cost, skipped

    def _oracle_quality(self, labeled: Sequence[Example]) -> dict[str, float]:
        """``oracle_<main metric>``: the main metric of every label so far against the gold
        references, for an oracle other than ``gold`` (how good the labels a strategy paid for are)."""
        if self.config.labeller == "gold":
            return {}
        references = [self.gold_by_id[e.id].references for e in labeled]
        return {f"oracle_{self.config.main_metric}": compute(self.config.main_metric, [e.output for e in labeled], references)}

    def _train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(**{"seed": seed, **self.config.train_params, "precision": self.config.precision})

    def _train(self, labeled: Sequence[Example], output_dir: Path, init_adapter: str | None, seed: int) -> None:
        train_adapter(self.model, labeled, str(output_dir), config=self._train_config(seed), init_adapter=init_adapter)
