"""An LLM oracle for the simulated loop when no API is reachable: the ``local`` labeller,
fine-tuned first on labelled rows the benchmark never uses.

The ATGen paper (Tsvigun et al., 2025) runs active learning with an LLM as the annotator and
reports 2-4x lower API cost. Here the annotator is the local model with a LoRA adapter trained on
``oracle_train_rows`` rows outside both the test split and the pool (``BenchmarkData.held_out``):
it answers like a weaker "LLM" that has seen the task but never the items it labels. (An oracle
trained on pool rows would hand a strategy that picks them memorised answers.) The adapter is
trained once per run, with the run's model, training settings and precision, and shared by every
cell and process of the run.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from filelock import FileLock

from benchmarks.datasets import BenchmarkData, DataSpecError

logger = logging.getLogger(__name__)

ORACLE_FOLDER = "oracle"


def check_oracle_rows(data: BenchmarkData, rows: int) -> None:
    """Raise a :class:`DataSpecError` naming the counts when fewer than ``rows`` rows are held out."""
    if len(data.held_out) < rows:
        raise DataSpecError(
            f"{data.name or 'data'}: {len(data.held_out)} rows lie outside the test split and the pool, "
            f"fewer than the {rows} the oracle should train on; lower --oracle-train-rows, --test-size or --pool-size"
        )


def oracle_adapter(run_root: Path, data: BenchmarkData, rows: int, train) -> Path:
    """The run's oracle adapter, trained on the first ``rows`` held-out rows unless already there.

    ``train(examples, output_dir)`` trains an adapter from scratch into ``output_dir``. A lock
    keeps two processes sharing the run from training it twice; the adapter is renamed into
    place whole, so a killed training run leaves nothing a later one would trust.
    """
    check_oracle_rows(data, rows)
    path = run_root / ORACLE_FOLDER
    run_root.mkdir(parents=True, exist_ok=True)
    with FileLock(run_root / f"{ORACLE_FOLDER}.lock"):
        if not path.is_dir():
            scratch = run_root / f"{ORACLE_FOLDER}-{uuid.uuid4().hex[:8]}.partial"
            logger.info("training the oracle on %d held-out rows into %s", rows, path)
            try:
                train(data.held_out[:rows], scratch)
                scratch.rename(path)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return path
