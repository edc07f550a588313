"""Benchmark data: load ``Example`` lists from a data spec, then cut a fixed test split and a pool.

Data specs:

- ``bigbench:<task>``: a BIG-bench task file (``bigbench_tasks``), ``target`` a string or a
  list of references;
- a ``.csv``, ``.json`` or ``.jsonl`` file with input/output columns (names configurable);
- a Label Studio JSON export (a ``.json`` list of tasks with ``data`` and ``annotations``):
  the input from ``data[input_column]``, the output from the last non-cancelled annotation's
  ``textarea`` result, else ``data[output_column]``;
- ``hf:<name>[:<config>]``: a Hugging Face dataset via ``datasets.load_dataset`` (needs a network
  and the ``datasets`` package; never used in tests here).
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bigbench_tasks import load_task
from training.example import Example


class DataSpecError(ValueError):
    """A data spec cannot be loaded: unknown form, missing file or column, too few rows."""


@dataclass(frozen=True)
class BenchmarkData:
    """A fixed test split and an unlabeled pool (gold outputs kept for the simulated oracle);
    ``held_out``: the labelled rows in neither, e.g. to fine-tune an LLM oracle on
    (``benchmarks.oracle``)."""

    name: str
    pool: list[Example]
    test: list[Example]
    held_out: list[Example] = field(default_factory=list)


def _row_example(row: dict[str, Any], index: int, input_column: str, output_column: str, source: str) -> Example:
    missing = [c for c in (input_column, output_column) if c not in row]
    if missing:
        raise DataSpecError(
            f"{source}: row {index} has no column(s) {', '.join(map(repr, missing))}; "
            f"columns found: {', '.join(map(repr, row))} (set --input-column/--output-column)"
        )
    return Example(id=row.get("id", index), input=str(row[input_column]), output=row[output_column])


def _is_label_studio_export(rows: list[Any]) -> bool:
    return bool(rows) and all(isinstance(r, dict) and isinstance(r.get("data"), dict) for r in rows)


def _annotation_text(task: dict[str, Any]) -> str | None:
    for annotation in reversed(task.get("annotations") or []):
        if annotation.get("was_cancelled"):
            continue
        for result in annotation.get("result") or []:
            text = (result.get("value") or {}).get("text")
            if text:
                return text[0] if isinstance(text, list) else str(text)
    return None


def _from_label_studio(tasks: list[dict[str, Any]], input_column: str, output_column: str, source: str) -> list[Example]:
    examples = []
    for i, task in enumerate(tasks):
        data = task["data"]
        if input_column not in data:
            raise DataSpecError(
                f"{source}: task {task.get('id', i)} has no data field {input_column!r}; "
                f"fields found: {', '.join(map(repr, data))} (set --input-column)"
            )
        output = _annotation_text(task) or data.get(output_column)
        if output:
            examples.append(Example(id=task.get("id", i), input=str(data[input_column]), output=output))
    return examples


def load_file(path: Path, input_column: str = "input", output_column: str = "output") -> list[Example]:
    """Examples from a CSV, JSON (list or Label Studio export) or JSONL file."""
    if not path.exists():
        raise DataSpecError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    source = str(path)
    with path.open(encoding="utf-8", newline="") as f:
        if suffix == ".csv":
            rows: list[Any] = list(csv.DictReader(f))
        elif suffix == ".jsonl":
            rows = [json.loads(line) for line in f if line.strip()]
        elif suffix == ".json":
            rows = json.load(f)
            if not isinstance(rows, list):
                raise DataSpecError(f"{source}: expected a JSON list of rows or Label Studio tasks")
            if _is_label_studio_export(rows):
                return _from_label_studio(rows, input_column, output_column, source)
        else:
            raise DataSpecError(f"{source}: unsupported file type {suffix!r}; use .csv, .json or .jsonl")
    return [_row_example(row, i, input_column, output_column, source) for i, row in enumerate(rows)]


def load_bigbench(task: str) -> list[Example]:
    """Examples of a generative BIG-bench task; ids are ``<task>:<row>`` so they stay stable."""
    rows = load_task(task)["examples"]
    examples = [
        Example(id=f"{task}:{i}", input=row["input"], output=row["target"])
        for i, row in enumerate(rows)
        if row.get("target")
    ]
    if not examples:
        raise DataSpecError(f"bigbench:{task} has no generative examples (no 'target' field; multiple choice?)")
    return examples


def load_hf(name: str, split: str = "train", input_column: str = "input", output_column: str = "output") -> list[Example]:
    """Examples from a Hugging Face dataset (``name`` or ``name:config``); needs a network."""
    try:
        from datasets import load_dataset
    except ImportError:
        raise DataSpecError("hf: data specs need the 'datasets' package (pip install datasets)") from None
    dataset_name, _, config = name.partition(":")
    rows = load_dataset(dataset_name, config or None, split=split)
    return [_row_example(dict(row), i, input_column, output_column, f"hf:{name}") for i, row in enumerate(rows)]


def load_examples(spec: str, input_column: str = "input", output_column: str = "output") -> list[Example]:
    """Examples named by a data spec (see the module docstring)."""
    if spec.startswith("bigbench:"):
        return load_bigbench(spec.removeprefix("bigbench:"))
    if spec.startswith("hf:"):
        return load_hf(spec.removeprefix("hf:"), input_column=input_column, output_column=output_column)
    path = Path(spec)
    if path.suffix.lower() in (".csv", ".json", ".jsonl"):
        return load_file(path, input_column, output_column)
    raise DataSpecError(
        f"cannot load data {spec!r}: use bigbench:<task>, hf:<name>, or a .csv/.json/.jsonl file path"
    )


def split(
    examples: Iterable[Example], test_size: int, pool_size: int | None, seed: int = 0, name: str = ""
) -> BenchmarkData:
    """Shuffle once with ``seed`` and cut ``test_size`` test examples, then a pool of at most
    ``pool_size``. The split depends only on the data and ``seed``, never on a strategy, so every
    strategy and selection seed is evaluated on the same test items."""
    rows = list(examples)
    if test_size < 1:
        raise DataSpecError(f"test size must be >= 1, got {test_size}")
    if len(rows) <= test_size:
        raise DataSpecError(f"{name or 'data'} has {len(rows)} labelled rows: too few for a test split of {test_size}")
    order = np.random.default_rng(seed).permutation(len(rows))
    test = [rows[i] for i in order[:test_size]]
    rest = [rows[i] for i in order[test_size:]]
    pool = rest if pool_size is None else rest[:pool_size]
    return BenchmarkData(name=name, pool=pool, test=test, held_out=rest[len(pool):])
