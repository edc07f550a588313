"""Fine-tuning the acquisition model: LoRA, DoRA, QLoRA or full fine-tuning (peft).

- LoRA: Hu et al. 2022 (ICLR), "LoRA: Low-Rank Adaptation of Large Language Models":
  ``W + (alpha / r) * B A`` with ``B`` initialised to zero. Defaults r=16, alpha=16, dropout 0
  on every linear projection (not the LM head).
- DoRA: Liu et al. 2024 (ICML), "DoRA: Weight-Decomposed Low-Rank Adaptation": magnitude and
  direction trained separately (``use_dora=True``).
- QLoRA: Dettmers et al. 2023 (NeurIPS): LoRA on a frozen 4-bit NF4 base (bitsandbytes).
- Optimisation defaults follow the ATGen appendix (Tsvigun et al. 2025, ACL demo): AdamW,
  lr 3e-5, linear schedule with 3% warmup, weight decay 0.01, gradient-norm clipping at 1.

The loss covers only the answer tokens (plus EOS), never the prompt: the model learns to answer,
not to reproduce instructions. Each AL round continues from the previous adapter by default
(ATGen retrains from scratch each round; continuing is cheaper); ``from_scratch`` restores that.
"""
from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from tqdm.auto import tqdm

from training.batching import GROUP_BATCHES, length_grouped_batches
from training.example import Example
from training.models import (
    base_model,
    default_device,
    load_model_and_tokenizer,
    resolve_model_path,
    takes_logits_to_keep,
)
from training.precision import autocast, check_precision, precision_dtype, resolve_precision
from training.prompts import FewShot, encode_answer, encode_prompt, format_prompt

logger = logging.getLogger(__name__)

TRAIN_RESULT_FILE = "train_result.json"
QUANTIZATION_MODES = (None, "4bit")
ProgressCallback = Callable[[int, int, dict], None]


class ZeroGradientError(RuntimeError):
    """A training step produced no gradient: the model would silently learn nothing."""


@dataclass
class TrainConfig:
    """Hyperparameters of one training run; stored next to the adapter it produced."""

    r: int = 16
    alpha: int = 16
    dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"
    use_dora: bool = False
    quantization: str | None = None
    full_finetune: bool = False
    epochs: int = 3
    lr: float = 3e-5
    warmup_ratio: float = 0.03
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    batch_size: int = 8
    max_length: int = 512
    # Batches of similar lengths (training.batching): same steps, far less padding.
    group_by_length: bool = True
    # Recompute each layer's activations in the backward pass (Chen et al. 2016, arXiv
    # 1604.06174): on SQuAD-passage rows peak memory 11.0 -> 5.9 GB for twice the time (README).
    gradient_checkpointing: bool = False
    # Mixed precision (training.precision): "bf16" holds the frozen base in bf16 and autocasts the
    # forward pass, "fp32" does neither, "auto" takes bf16 where the device computes it natively.
    # Trainable weights, optimiser state and loss stay fp32.
    precision: str = "auto"
    eval_fraction: float = 0.2
    early_stopping_patience: int | None = 2
    from_scratch: bool = False
    seed: int = 0

    def __post_init__(self):
        problems = []
        if self.r < 1:
            problems.append(f"r must be >= 1 (got {self.r})")
        if self.alpha <= 0:
            problems.append(f"alpha must be > 0 (got {self.alpha})")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1) (got {self.dropout})")
        if self.quantization not in QUANTIZATION_MODES:
            problems.append(f"quantization must be one of {QUANTIZATION_MODES} (got {self.quantization!r})")
        if self.full_finetune and (self.quantization or self.use_dora):
            problems.append("full_finetune trains every weight: it excludes quantization and use_dora")
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1 (got {self.epochs})")
        if self.lr <= 0:
            problems.append(f"lr must be > 0 (got {self.lr})")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio must be in [0, 1) (got {self.warmup_ratio})")
        if self.weight_decay < 0 or self.max_grad_norm <= 0:
            problems.append("weight_decay must be >= 0 and max_grad_norm > 0")
        if self.batch_size < 1 or self.max_length < 2:
            problems.append("batch_size must be >= 1 and max_length >= 2")
        if not 0 <= self.eval_fraction < 1:
            problems.append(f"eval_fraction must be in [0, 1) (got {self.eval_fraction})")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            problems.append("early_stopping_patience must be >= 1 or None")
        try:
            check_precision(self.precision)
        except ValueError as error:
            problems.append(str(error))
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys {unknown}; known: {sorted(known)}")
        return cls(**data)


@dataclass
class TrainResult:
    """What a training run did: counts, loss curves and timing (also saved as train_result.json)."""

    output_dir: str
    base_model: str
    mode: str
    n_train: int
    n_eval: int
    steps: int
    epochs_completed: int
    stopped_early: bool
    train_losses: list[float] = field(default_factory=list)
    eval_losses: list[float] = field(default_factory=list)
    eval_loss: float | None = None
    train_tokens: int = 0
    # Tokens the forward passes computed, padding included (length-grouped batches keep it low).
    padded_tokens: int = 0
    seconds: float = 0.0
    # The precision the forward passes ran in ("auto" resolved on the training device).
    precision: str = "fp32"
    continued_from: str | None = None
    config: dict = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        return self.train_tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "tokens_per_second": self.tokens_per_second}


@dataclass
class _Encoded:
    input_ids: list[int]
    labels: list[int]


def encode_example(tokenizer, example: Example, max_length: int, system_prompt=None, few_shot: FewShot = ()) -> _Encoded:
    """Prompt + answer + EOS as ids, with labels masked (-100) on the prompt.

    Over-long examples lose the start of the prompt first (the task input's end and the
    answer matter most), but keep at least half the budget for the prompt.
    """
    if example.target is None:
        raise ValueError(f"example {example.id!r} has no output to train on")
    prompt = encode_prompt(tokenizer, format_prompt(tokenizer, example.input, system_prompt, few_shot))
    answer = encode_answer(tokenizer, example.target)
    prompt_room = max(max_length - len(answer), max_length // 2)
    prompt = prompt[-prompt_room:]
    answer = answer[: max_length - len(prompt)]
    return _Encoded(prompt + answer, [-100] * len(prompt) + answer)


def _collate(batch: Sequence[_Encoded], pad_id: int, device) -> dict[str, torch.Tensor]:
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.input_ids)] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def _is_4bit(model) -> bool:
    return bool(getattr(base_model(model), "is_loaded_in_4bit", False))


def _summed_token_loss(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Sum of answer-token cross-entropies and their count (the model's mean is per batch).

    Only the positions that predict an answer token in some row go through the LM head
    (transformers' ``logits_to_keep``): the (positions x vocabulary) logits are the largest
    tensors of a step, and on passage-length prompts (SQuAD, summarisation) the answer is a few
    percent of the positions. Models whose forward lacks ``logits_to_keep`` compute all logits.
    """
    targets = batch["labels"][:, 1:]
    positions = (targets != -100).any(dim=0).nonzero().squeeze(1)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    if takes_logits_to_keep(model):
        logits = model(**inputs, logits_to_keep=positions).logits
    else:
        logits = model(**inputs).logits[:, positions]
    targets = targets[:, positions]
    losses = torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="sum"
    )
    return losses, int((targets != -100).sum())


def completion_loss(
    model, tokenizer, examples: Sequence[Example], *, system_prompt=None, few_shot: FewShot = (), max_length: int = 512,
    batch_size: int = 8, precision: str = "fp32",
) -> float:
    """Mean cross-entropy per answer token of ``examples`` under ``model`` (the eval loss).

    A 4-bit model runs with autograd enabled but no backward pass: on an AVX512-BF16 CPU,
    bitsandbytes repacks 4-bit weights for inference on any no-grad forward, after which QLoRA
    training gets zero gradients. Any other model runs under ``no_grad``, keeping no
    activations: on 8 passages of 512 tokens that is several GB less.
    """
    encoded = [encode_example(tokenizer, e, max_length, system_prompt, few_shot) for e in examples]
    device = next(model.parameters()).device
    return _mean_loss(model, encoded, tokenizer.pad_token_id, batch_size, resolve_precision(precision, device))


def _mean_loss(model, encoded: Sequence[_Encoded], pad_id: int, batch_size: int, precision: str) -> float:
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    # The loss is a sum over tokens: any order gives it, and sorted batches carry least padding.
    encoded = sorted(encoded, key=lambda e: len(e.input_ids))
    with torch.enable_grad() if _is_4bit(model) else torch.no_grad(), autocast(precision, device):
        for start in range(0, len(encoded), batch_size):
            loss, n = _summed_token_loss(model, _collate(encoded[start : start + batch_size], pad_id, device))
            total, count = total + loss.item(), count + n
    model.train(was_training)
    return total / max(count, 1)


def split_train_eval(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Hold out ``fraction`` of the examples (at least one when there are two or more)."""
    examples = list(examples)
    if fraction <= 0 or len(examples) < 2:
        return examples, []
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed)).tolist()
    n_eval = min(len(examples) - 1, max(1, round(fraction * len(examples))))
    return [examples[i] for i in order[n_eval:]], [examples[i] for i in order[:n_eval]]


def _build_model(model_name: str | None, config: TrainConfig, init_adapter, device, precision: str):
    """The trainable model and its tokenizer, plus the adapter/checkpoint it continues from."""
    continue_from = None if config.from_scratch or init_adapter is None else str(init_adapter)
    if config.full_finetune:
        model, tokenizer = load_model_and_tokenizer(continue_from or model_name, dtype=torch.float32, device=device)
        model.requires_grad_(True)
        return model, tokenizer, continue_from
    quantization = None
    if config.quantization == "4bit":
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=precision_dtype(precision)
        )
    # The frozen base only ever feeds matmuls, which autocast runs in bf16 anyway: holding it in
    # bf16 halves its memory. PEFT creates and loads the adapter weights in fp32 all the same.
    base, tokenizer = load_model_and_tokenizer(model_name, dtype=precision_dtype(precision), device=device, quantization_config=quantization)
    from peft import LoraConfig, PeftModel, get_peft_model

    if continue_from:
        model = PeftModel.from_pretrained(base, continue_from, is_trainable=True)
    else:
        lora = LoraConfig(
            r=config.r,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=config.target_modules,
            use_dora=config.use_dora,
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(base, lora)
    return model, tokenizer, continue_from


def dead_parameters(model) -> list[str]:
    """Trainable tensors whose gradient is exactly zero where it cannot legitimately be.

    LoRA's ``A`` has a zero gradient while its ``B`` is still all zero (the LoRA init), so that
    case is allowed; any other all-zero gradient means the backward pass is cut somewhere.
    """
    params = dict(model.named_parameters())
    dead = []
    for name, param in params.items():
        if not param.requires_grad or (param.grad is not None and param.grad.any()):
            continue
        partner = params.get(name.replace("lora_A", "lora_B")) if "lora_A" in name else None
        if partner is not None and not partner.detach().any():
            continue
        dead.append(name)
    return dead


def _check_gradients(model, grad_norm: torch.Tensor, config: TrainConfig, step: int) -> None:
    if not torch.isfinite(grad_norm):
        raise FloatingPointError(f"gradient norm is {grad_norm.item()} at step {step}; lower lr (now {config.lr})")
    dead = dead_parameters(model)
    if dead:
        hint = (
            " With 4-bit QLoRA on an AVX512-BF16 CPU this is the bitsandbytes trap: a no-grad forward (e.g. generate)"
            " on the quantised model repacks its weights and later backward passes skip them; load a"
            " fresh model for training and never run it under torch.no_grad()."
            if config.quantization
            else ""
        )
        raise ZeroGradientError(
            f"{len(dead)} trainable tensors got an all-zero gradient at step {step} (e.g. {dead[0]});"
            f" they would learn nothing.{hint}"
        )


def train_adapter(
    model_name: str | None,
    examples: Sequence[Example],
    output_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    init_adapter: str | Path | None = None,
    eval_examples: Sequence[Example] | None = None,
    progress: ProgressCallback | None = None,
    system_prompt: str | None = None,
    few_shot: FewShot = (),
    device: str | None = None,
) -> TrainResult:
    """Fine-tune ``model_name`` on labeled ``examples`` and save the result to ``output_dir``.

    Saves a PEFT adapter (or, with ``full_finetune``, a full checkpoint) plus
    ``train_result.json``. Without ``eval_examples``, ``config.eval_fraction`` of the examples
    is held out; the weights of the epoch with the lowest eval loss are saved, and training stops
    after ``early_stopping_patience`` epochs without improvement. ``progress(step, total, logs)``
    is called after every optimiser step. Use the same ``system_prompt``/``few_shot`` as the engine.
    """
    config = config or TrainConfig()
    labeled = [e for e in examples if e.is_labeled]
    if not labeled:
        raise ValueError(f"no labeled examples to train on ({len(examples)} given, none with an output)")
    if eval_examples is None:
        train_set, eval_set = split_train_eval(labeled, config.eval_fraction, config.seed)
    else:
        train_set, eval_set = labeled, [e for e in eval_examples if e.is_labeled]
    torch.manual_seed(config.seed)
    device = device or default_device()
    precision = resolve_precision(config.precision, device)
    model, tokenizer, continued_from = _build_model(model_name, config, init_adapter, device, precision)
    if config.gradient_checkpointing:
        # Non-reentrant checkpoints propagate gradients to LoRA weights behind frozen inputs.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    device = next(model.parameters()).device
    encode = lambda e: encode_example(tokenizer, e, config.max_length, system_prompt, few_shot)  # noqa: E731
    train_encoded, eval_encoded = [encode(e) for e in train_set], [encode(e) for e in eval_set]
    train_lengths = [len(e.input_ids) for e in train_encoded]

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train_encoded) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    from transformers import get_linear_schedule_with_warmup

    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(config.warmup_ratio * total_steps), total_steps)

    result = TrainResult(
        output_dir=str(output_dir),
        base_model=model_name if model_name is not None else resolve_model_path(None),
        mode="full" if config.full_finetune else ("qlora" if config.quantization else ("dora" if config.use_dora else "lora")),
        n_train=len(train_set),
        n_eval=len(eval_set),
        steps=0,
        epochs_completed=0,
        stopped_early=False,
        precision=precision,
        continued_from=continued_from,
        config=config.to_dict(),
    )
    best_loss, best_state, epochs_without_gain = math.inf, None, 0
    shuffler = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    bar = tqdm(total=total_steps, desc="train", unit="step", disable=None)
    model.train()
    # A group of one batch sorts nothing: plain shuffled batches.
    group_batches = GROUP_BATCHES if config.group_by_length else 1
    for epoch in range(config.epochs):
        for indices in length_grouped_batches(train_lengths, config.batch_size, shuffler, group_batches):
            batch = _collate([train_encoded[i] for i in indices], tokenizer.pad_token_id, device)
            with autocast(precision, device):
                loss_sum, n_tokens = _summed_token_loss(model, batch)
            loss = loss_sum / max(n_tokens, 1)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            _check_gradients(model, grad_norm, config, result.steps)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            result.steps += 1
            result.train_tokens += int(batch["attention_mask"].sum())
            result.padded_tokens += batch["input_ids"].numel()
            result.train_losses.append(loss.item())
            logs = {"loss": loss.item(), "epoch": epoch, "lr": scheduler.get_last_lr()[0]}
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if progress is not None:
                progress(result.steps, total_steps, logs)
        result.epochs_completed = epoch + 1
        if not eval_encoded:
            continue
        eval_loss = _mean_loss(model, eval_encoded, tokenizer.pad_token_id, config.batch_size, precision)
        model.train()
        result.eval_losses.append(eval_loss)
        logger.info("epoch %d: eval loss %.4f", epoch + 1, eval_loss)
        if eval_loss < best_loss:
            best_loss, epochs_without_gain = eval_loss, 0
            best_state = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        else:
            epochs_without_gain += 1
            if config.early_stopping_patience and epochs_without_gain >= config.early_stopping_patience:
                result.stopped_early = epoch + 1 < config.epochs
                break
    bar.close()
    result.seconds = time.perf_counter() - started
    if best_state is not None:
        # Save the epoch that generalised best, not merely the last one.
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name in best_state:
                    param.copy_(best_state[name])
        result.eval_loss = best_loss
    model.eval()
    _save(model, tokenizer, Path(output_dir), config, result)
    return result


def _save(model, tokenizer, output_dir: Path, config: TrainConfig, result: TrainResult) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    if config.full_finetune:
        tokenizer.save_pretrained(output_dir)
    (output_dir / TRAIN_RESULT_FILE).write_text(json.dumps(result.to_dict(), indent=2))
