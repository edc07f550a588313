"""Speed of sampled pool scoring (BLEUVar's n answers per prompt) on the transformers engine.

    python benchmarks/sampling_throughput.py                  # SmolLM2-135M, adapter on 100 examples
    python benchmarks/sampling_throughput.py --train 0        # the base model (long, rambling answers)
    python benchmarks/sampling_throughput.py --data bigbench:disfl_qa --max-new-tokens 16   # ~240-token passages

Scores a task's prompts (qa_wikidata by default) three ways with the same engine and adapter
and prints prompts/s: one greedy answer each (what NSP, MTE and HUDS cost), ``n`` samples each from the engine (one
prefill per prompt, a sample leaves the batch at its EOS) and ``n`` samples each from
transformers' ``generate(num_return_sequences=n)``, which prefills every copy of a prompt and
decodes all rows of a batch until the longest sample ends (the engine's way before it shared
the prefill). A LoRA adapter trained first on examples outside the measured prompts makes the
answers as short as they are while a benchmark cell scores its pool.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.datasets import load_examples  # noqa: E402
from training.lora import TrainConfig, train_adapter  # noqa: E402
from training.prompts import encode_prompt  # noqa: E402
from training.transformers_engine import TransformersEngine  # noqa: E402


def generate_num_return_sequences(engine: TransformersEngine, prompts: list[str], n: int, max_new_tokens: int) -> list[int]:
    """Sample with transformers' ``generate`` in the engine's batches; returns sample lengths."""
    from transformers import GenerationConfig

    config = GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
        num_return_sequences=n, eos_token_id=engine.tokenizer.eos_token_id, pad_token_id=engine.tokenizer.pad_token_id,
    )
    encoded = sorted((encode_prompt(engine.tokenizer, engine.format(p)) for p in prompts), key=len, reverse=True)
    lengths = []
    for start in range(0, len(encoded), engine.batch_size):
        ids, mask = engine._left_padded(encoded[start : start + engine.batch_size])
        with engine._forward_context(), torch.no_grad():
            sequences = engine._active_model().generate(input_ids=ids, attention_mask=mask, generation_config=config)
        for row in sequences[:, ids.shape[1] :].tolist():
            lengths.append(row.index(config.eos_token_id) if config.eos_token_id in row else len(row))
    return lengths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="bigbench:qa_wikidata", help="any benchmark data source")
    parser.add_argument("--prompts", type=int, default=96)
    parser.add_argument("--samples", type=int, default=10, help="samples per prompt (BLEUVar's default)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="the benchmark suite's default")
    parser.add_argument("--train", type=int, default=100, help="examples to train the adapter on first; 0: none")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    examples = load_examples(args.data)
    prompts = [ex.input for ex in examples[: args.prompts]]
    adapter = None
    if args.train:
        adapter = Path(tempfile.mkdtemp()) / "adapter"
        train_adapter(None, examples[-args.train :], str(adapter), config=TrainConfig(lr=1e-3))
    engine = TransformersEngine(None, adapter=adapter)
    label = f"SmolLM2-135M-Instruct ({engine._base.dtype}), {'adapter on ' + str(args.train) if adapter else 'no adapter'}"
    print(f"{label}, {len(prompts)} {args.data} prompts, {args.threads} thread(s), engine batch {engine.batch_size}, "
          f"{args.max_new_tokens} new tokens at most")

    start = time.perf_counter()
    greedy = engine.generate(prompts, max_new_tokens=args.max_new_tokens)
    greedy_s = time.perf_counter() - start
    start = time.perf_counter()
    sampled = engine.generate(prompts, n=args.samples, temperature=1.0, max_new_tokens=args.max_new_tokens, seed=0)
    engine_s = time.perf_counter() - start
    torch.manual_seed(0)
    start = time.perf_counter()
    reference_lengths = generate_num_return_sequences(engine, prompts, args.samples, args.max_new_tokens)
    reference_s = time.perf_counter() - start

    engine_lengths = [len(s.token_ids) for group in sampled for s in group]
    mean = sum(len(g[0].token_ids) for g in greedy) / len(greedy)
    print(f"  greedy, 1 answer:                  {len(prompts) / greedy_s:6.2f} prompts/s  ({greedy_s:.1f} s, "
          f"{mean:.1f} tokens per answer)")
    for name, seconds, lengths in (
        (f"engine, {args.samples} samples:", engine_s, engine_lengths),
        (f"generate(num_return_sequences={args.samples}):", reference_s, reference_lengths),
    ):
        print(f"  {name:<35}{len(prompts) / seconds:6.2f} prompts/s  ({seconds:.1f} s, "
              f"{sum(lengths) / len(lengths):.1f} tokens per sample)")
    print(f"  engine vs generate: {reference_s / engine_s:.1f}x faster")


if __name__ == "__main__":
    main()
