"""Training and inference throughput of training/ on the packaged SmolLM2-135M-Instruct.

Prints one JSON object per measurement. Examples (Makefile `bench` or by hand):

    python benchmarks/training_throughput.py train --sizes 100 1000 --max-steps 8
    python benchmarks/training_throughput.py train --data bigbench:disfl_qa --sizes 64 --batch-size 8 [--no-group-by-length]
    python benchmarks/training_throughput.py engine --pool 500 --naive 50
    python benchmarks/training_throughput.py engine --data bigbench:qa_wikidata --adapter DIR --pool 160 --naive 0 --precision bf16
    python benchmarks/training_throughput.py engine --engine vllm --pool 500 --naive 0   # in .venv-vllm
    python benchmarks/training_throughput.py switch

``--max-steps`` caps a training run and projects the full round time from the measured
tokens/s (marked ``projected``); the naive per-example loop is timed on ``--naive`` prompts and
its rate extrapolated to the pool.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.example import Example  # noqa: E402


def make_examples(n: int, seed: int = 0) -> list[Example]:
    """Short QA-like rows (two-number arithmetic with a sentence answer): ~35 tokens with the template."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 999)
        rows.append(Example(id=i, input=f"What is {a} plus {b}?", output=f"{a} plus {b} is {a + b}."))
    return rows


def training_rows(spec: str | None, n: int) -> list[Example]:
    """``n`` rows of a benchmark data spec (``bigbench:disfl_qa``...), or of the synthetic task."""
    if spec is None:
        return make_examples(n)
    from benchmarks.datasets import load_examples

    rows = load_examples(spec)
    random.Random(0).shuffle(rows)
    return rows[:n]


def report(**figures) -> None:
    print(json.dumps(figures), flush=True)


def bench_train(args) -> None:
    from training.lora import TrainConfig, train_adapter

    for size in args.sizes:
        examples = training_rows(args.data, size)
        config = TrainConfig(epochs=1, batch_size=args.batch_size, eval_fraction=0.2, group_by_length=args.group_by_length,
                             gradient_checkpointing=args.gradient_checkpointing, precision=args.precision)
        n_train = size - max(1, round(0.2 * size))
        full_steps = -(-n_train // args.batch_size)
        # Cap the run by training on fewer rows; the round time is then projected from tokens/s.
        capped = min(full_steps, args.max_steps) if args.max_steps else full_steps
        train_rows = examples[: capped * args.batch_size] if capped < full_steps else examples
        eval_rows = examples[-max(1, round(0.2 * size)) :]
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            result = train_adapter(
                None, train_rows if capped < full_steps else examples, out, config=config,
                eval_examples=eval_rows if capped < full_steps else None, device=args.device,
            )
            wall = time.perf_counter() - started
        tokens_per_step = result.train_tokens / max(result.steps, 1)
        report(
            measure="train_round", data=args.data or "synthetic", device=args.device or "auto", examples=size, epochs=1,
            batch_size=args.batch_size, group_by_length=args.group_by_length,
            gradient_checkpointing=args.gradient_checkpointing, precision=result.precision,
            steps_run=result.steps, steps_full=full_steps,
            train_tokens_per_s=round(result.tokens_per_second, 1),
            padded_per_real_token=round(result.padded_tokens / max(result.train_tokens, 1), 3),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            wall_s=round(wall, 1),
            round_s=round(wall if capped >= full_steps else full_steps * tokens_per_step / result.tokens_per_second, 1),
            projected=capped < full_steps,
        )


def naive_generate(model, tokenizer, prompts, max_new_tokens, formatter) -> float:
    """The loop people write first: one un-batched `generate` per example. Returns seconds."""
    import torch

    from training.prompts import encode_prompt

    started = time.perf_counter()
    for prompt in prompts:
        ids = torch.tensor([encode_prompt(tokenizer, formatter(prompt))], device=model.device)
        with torch.no_grad():
            model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                           do_sample=False, output_scores=True, return_dict_in_generate=True,
                           pad_token_id=tokenizer.pad_token_id)
    return time.perf_counter() - started


def bench_engine(args) -> None:
    from training import get_engine

    prompts = [e.input for e in training_rows(args.data, args.pool)] if args.data else [e.input for e in make_examples(args.pool, seed=1)]
    from training.models import default_device
    from training.precision import precision_dtype, resolve_precision

    precision = resolve_precision(args.precision, args.device or default_device())
    options = {"device": args.device, "batch_size": args.batch_size, "dtype": precision_dtype(precision)} if args.engine == "transformers" else {}
    started = time.perf_counter()
    engine = get_engine(args.engine, adapter=args.adapter, **options)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    engine.generate(prompts, max_new_tokens=args.max_new_tokens)
    engine_s = time.perf_counter() - started
    figures = dict(measure="engine_pool", engine=args.engine, device=args.device or "auto", data=args.data or "synthetic",
                   precision=precision, adapter=args.adapter is not None, pool=args.pool,
                   max_new_tokens=args.max_new_tokens, load_s=round(load_s, 1), engine_s=round(engine_s, 1),
                   engine_prompts_per_s=round(args.pool / engine_s, 2))
    if args.naive and args.engine == "transformers":
        naive_s = naive_generate(engine._base, engine.tokenizer, prompts[: args.naive], args.max_new_tokens, engine.format)
        naive_rate = args.naive / naive_s
        figures.update(naive_prompts=args.naive, naive_s=round(naive_s, 1), naive_prompts_per_s=round(naive_rate, 2),
                       naive_pool_s_projected=round(args.pool / naive_rate, 1),
                       speedup=round((args.pool / engine_s) / naive_rate, 1))
    report(**figures)


def bench_switch(args) -> None:
    from training import get_engine
    from training.lora import TrainConfig, train_adapter

    examples = make_examples(8)
    with tempfile.TemporaryDirectory() as root:
        folders = []
        for k in range(3):
            folder = Path(root) / f"v{k}"
            train_adapter(None, examples, folder, config=TrainConfig(epochs=1, batch_size=8, eval_fraction=0.0, seed=k))
            folders.append(folder)
        engine = get_engine(args.engine)
        prompt = ["What is 2 plus 2?"]
        for k, folder in enumerate(folders):
            started = time.perf_counter()
            engine.load_adapter(folder, f"v{k}")
            engine.generate(prompt, max_new_tokens=1)
            report(measure="adapter_first_use", engine=args.engine, version=f"v{k}", seconds=round(time.perf_counter() - started, 3))
        for k in (0, 2, 1):
            started = time.perf_counter()
            engine.use_version(f"v{k}")
            engine.generate(prompt, max_new_tokens=1)
            report(measure="adapter_switch", engine=args.engine, version=f"v{k}", seconds=round(time.perf_counter() - started, 3))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["train", "engine", "switch"])
    parser.add_argument("--engine", default="transformers", choices=["transformers", "vllm"])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--max-steps", type=int, default=0, help="cap training steps per size (0: full epoch)")
    parser.add_argument("--data", help="train on rows of this benchmark data spec (default: synthetic arithmetic)")
    parser.add_argument("--group-by-length", action=argparse.BooleanOptionalAction, default=True,
                        help="length-grouped training batches (default on)")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="recompute activations in backward")
    parser.add_argument("--precision", default="fp32", choices=["auto", "fp32", "bf16"],
                        help="bf16 mixed precision for training and the transformers engine (training.precision)")
    parser.add_argument("--adapter", help="engine: serve this LoRA adapter folder (as the benchmark's evaluation does)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--pool", type=int, default=500)
    parser.add_argument("--naive", type=int, default=50, help="prompts timed with the naive loop (0: skip)")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    {"train": bench_train, "engine": bench_engine, "switch": bench_switch}[args.what](args)


if __name__ == "__main__":
    main()
