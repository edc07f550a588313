"""Numeric precision of training and inference: float32, or bfloat16 where the hardware has it.

bfloat16 (Kalamkar et al. 2019, arXiv 1905.12322) keeps float32's exponent range with an 8-bit
mantissa, so mixed-precision training needs no loss scaling: matmuls run in bf16 under
``torch.autocast`` and a frozen base model is held in bf16, while the trainable weights, the
optimiser state and the loss stay float32 (Micikevicius et al. 2018, ICLR, "Mixed Precision
Training").

It pays only where the chip computes bf16 natively: CUDA GPUs from Ampere on, and CPUs with
AVX512-BF16 or AMX. On SmolLM2-135M, one thread of an AMD EPYC with AVX512-BF16 runs a training
step 1.7x and a forward pass 1.9x faster than in float32 (README, *What it costs*); a CPU
without those instructions emulates bf16 and gets much slower (23x for a LoRA training step on
an AVX2-only AMD EPYC), which is why ``auto`` asks the chip and an explicit ``bf16`` there warns.
"""
from __future__ import annotations

import contextlib
import functools
import logging

import torch

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
_DTYPE_NAMES = {"fp32": "float32", "bf16": "bfloat16"}


def bf16_is_native(device: str | torch.device) -> bool:
    """Whether ``device`` computes bfloat16 matmuls in hardware (not by emulation)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        # Private but stable since torch 2.1; a torch without them is treated as "no".
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return False


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS} (got {precision!r})")
    return precision


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """``fp32`` or ``bf16``: ``auto`` picks bf16 where ``device`` has it natively.

    An explicit ``bf16`` is kept on any device (a run may have to match earlier bf16 runs), but
    where the device only emulates it a warning says so, once per process and device.
    """
    if check_precision(precision) == "auto":
        return "bf16" if bf16_is_native(device) else "fp32"
    if precision == "bf16" and not bf16_is_native(device):
        _warn_emulated(torch.device(device).type)
    return precision


@functools.cache
def _warn_emulated(device_type: str) -> None:
    # Once per process: resolve_precision runs on every training round and evaluation.
    native = "AVX512-BF16 or AMX" if device_type == "cpu" else "bf16 hardware"
    logger.warning(
        "precision bf16 on %s, which has no %s: torch emulates bf16 there, and training and "
        "inference run many times slower than in fp32 (23x for a LoRA step on an AVX2-only CPU); "
        "pick fp32 or auto unless the results must match earlier bf16 runs", device_type, native)


def precision_dtype_name(precision: str) -> str:
    """The dtype name of a resolved precision (``fp32`` or ``bf16``), as engines take it."""
    return _DTYPE_NAMES[precision]


def precision_dtype(precision: str) -> torch.dtype:
    """The torch dtype of a resolved precision (``fp32`` or ``bf16``)."""
    return getattr(torch, precision_dtype_name(precision))


def autocast(precision: str, device: str | torch.device):
    """Mixed-precision context for a resolved precision: bf16 autocast, or nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=precision_dtype(precision))
