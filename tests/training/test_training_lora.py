"""LoRA/DoRA/QLoRA/full fine-tuning on the tiny model: plumbing, not quality."""
import json
import warnings

import pytest
import torch

from training import lora
from training.example import Example
from training.lora import TrainConfig, ZeroGradientError, completion_loss, encode_example, train_adapter
from training.models import load_model_and_tokenizer
from training.transformers_engine import TransformersEngine

pytestmark = pytest.mark.unit

WORDS = ["cat", "dog", "red", "blue", "one", "two", "sun", "moon"]
EXAMPLES = [Example(id=i, input=f"say {w}", output=w) for i, w in enumerate(WORDS)]
# float32: these tests compare losses to 1e-5 across reloads (bf16 is tested in test_training_precision).
FAST = dict(lr=1e-2, epochs=4, batch_size=4, eval_fraction=0.0, warmup_ratio=0.0, r=8, alpha=16, precision="fp32")

warnings.filterwarnings("ignore", message=".*autograd kernel was not registered.*")


def reload_loss(base, adapter, examples):
    from peft import PeftModel

    model, tokenizer = load_model_and_tokenizer(base, dtype=torch.float32)
    return completion_loss(PeftModel.from_pretrained(model, adapter), tokenizer, examples)


def test_loss_only_on_answer_tokens(tiny_model_path):
    _, tokenizer = load_model_and_tokenizer(tiny_model_path)
    encoded = encode_example(tokenizer, EXAMPLES[0], max_length=512)
    answer = [t for t in encoded.labels if t != -100]
    assert tokenizer.decode(answer) == "cat<|im_end|>"
    assert encoded.labels[: len(encoded.labels) - len(answer)] == [-100] * (len(encoded.labels) - len(answer))
    assert encoded.input_ids[-len(answer) :] == answer
    short = encode_example(tokenizer, EXAMPLES[0], max_length=8)
    assert len(short.input_ids) == 8 and short.labels[-len(answer) :] == answer


def test_loss_computes_logits_only_where_an_answer_token_is_predicted(tiny_model_path):
    model, tokenizer = load_model_and_tokenizer(tiny_model_path, dtype=torch.float32)
    rows = [Example(i, "say " + "word " * (4 * i + 1), f"answer {i}") for i in range(4)]
    batch = lora._collate([encode_example(tokenizer, e, 512) for e in rows], tokenizer.pad_token_id, "cpu")
    kept_shapes = []
    model.lm_head.register_forward_hook(lambda module, args, out: kept_shapes.append(tuple(out.shape)))
    loss, n_tokens = lora._summed_token_loss(model, batch)

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["labels"][:, 1:]
    full = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
    assert loss.item() == pytest.approx(full.item(), rel=1e-6) and n_tokens == int((targets != -100).sum())
    width = batch["input_ids"].shape[1]
    assert kept_shapes[0][1] < width / 2 and kept_shapes[1][1] == width  # the loss's LM head saw few positions

    class NoLogitsToKeep(torch.nn.Module):  # an architecture whose forward lacks the argument
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask)

    assert lora._summed_token_loss(NoLogitsToKeep(), batch)[0].item() == pytest.approx(full.item(), rel=1e-6)


def test_lora_learns_saves_and_reloads_identically(tiny_model_path, tmp_path):
    calls = []
    result = train_adapter(
        tiny_model_path, EXAMPLES, tmp_path / "v1", config=TrainConfig(**{**FAST, "epochs": 20}), eval_examples=EXAMPLES[:4],
        progress=lambda step, total, logs: calls.append((step, total, logs["loss"])),
    )
    assert result.mode == "lora" and result.n_train == 8 and result.n_eval == 4
    assert result.steps == 40 and [c[0] for c in calls] == list(range(1, 41)) and {c[1] for c in calls} == {40}
    assert result.train_losses[-1] < 0.1 * result.train_losses[0]
    assert result.eval_loss == min(result.eval_losses)
    saved = json.loads((tmp_path / "v1" / "train_result.json").read_text())
    assert saved["n_train"] == 8 and saved["config"]["r"] == 8
    assert reload_loss(tiny_model_path, tmp_path / "v1", EXAMPLES[:4]) == pytest.approx(result.eval_loss, abs=1e-5)
    engine = TransformersEngine(model=tiny_model_path, adapter=tmp_path / "v1")
    answers = [g[0].text for g in engine.generate([e.input for e in EXAMPLES], max_new_tokens=5)]
    assert sum(a == w for a, w in zip(answers, WORDS, strict=True)) >= 7, answers


def test_continue_from_previous_adapter_or_from_scratch(tiny_model_path, tmp_path):
    first = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "v1", config=TrainConfig(**FAST))
    cont_cfg = TrainConfig(**{**FAST, "epochs": 1, "lr": 1e-6})
    continued = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "v2", config=cont_cfg, init_adapter=tmp_path / "v1")
    fresh_cfg = TrainConfig(**{**FAST, "epochs": 1, "lr": 1e-6, "from_scratch": True})
    fresh = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "v3", config=fresh_cfg, init_adapter=tmp_path / "v1")
    assert continued.continued_from == str(tmp_path / "v1") and fresh.continued_from is None
    assert continued.train_losses[0] < 0.5 * first.train_losses[0]
    assert fresh.train_losses[0] == pytest.approx(first.train_losses[0], rel=0.05)


def test_held_out_split_and_early_stopping_keep_the_best_epoch(tiny_model_path, tmp_path):
    examples = [Example(id=i, input=f"say {w} {i}", output=f"{w} {i % 3}") for i, w in enumerate(WORDS * 2)]
    config = TrainConfig(**{**FAST, "eval_fraction": 0.25, "epochs": 12, "lr": 3e-2, "early_stopping_patience": 1})
    result = train_adapter(tiny_model_path, examples, tmp_path / "a", config=config)
    assert (result.n_train, result.n_eval) == (12, 4)
    assert result.eval_loss == min(result.eval_losses)
    # the eval loss turns up once the model starts memorising the 12 training rows
    assert result.stopped_early and result.epochs_completed < 12
    assert result.eval_losses[-1] > result.eval_loss
    held_out = lora.split_train_eval([e for e in examples], 0.25, config.seed)[1]
    assert reload_loss(tiny_model_path, tmp_path / "a", held_out) == pytest.approx(result.eval_loss, abs=1e-5)


def test_gradient_checkpointing_trains_the_same_adapter(tiny_model_path, tmp_path):
    plain = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "plain", config=TrainConfig(**FAST))
    recomputed = train_adapter(
        tiny_model_path, EXAMPLES, tmp_path / "ckpt", config=TrainConfig(**FAST, gradient_checkpointing=True)
    )
    assert recomputed.train_losses == pytest.approx(plain.train_losses, rel=1e-4)
    assert recomputed.config["gradient_checkpointing"] is True


def test_dora_adapter(tiny_model_path, tmp_path):
    result = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "dora", config=TrainConfig(**FAST, use_dora=True))
    assert result.mode == "dora" and result.train_losses[-1] < 0.5 * result.train_losses[0]
    assert json.loads((tmp_path / "dora" / "adapter_config.json").read_text())["use_dora"] is True


def test_full_finetune_writes_a_loadable_checkpoint(tiny_model_path, tmp_path):
    config = TrainConfig(**{**FAST, "lr": 3e-3, "full_finetune": True})
    result = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "full", config=config)
    assert result.mode == "full" and result.train_losses[-1] < 0.5 * result.train_losses[0]
    model, tokenizer = load_model_and_tokenizer(str(tmp_path / "full"))
    assert completion_loss(model, tokenizer, EXAMPLES) < result.train_losses[0]


def test_qlora_trains_and_detects_the_zero_gradient_trap(tiny_model_path, tmp_path, monkeypatch):
    config = TrainConfig(**{**FAST, "quantization": "4bit", "epochs": 2, "eval_fraction": 0.25})
    result = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "q", config=config)
    assert result.mode == "qlora" and result.train_losses[-1] < result.train_losses[0]
    assert len(result.eval_losses) == 2  # the eval between epochs did not kill the gradients

    original = lora.load_model_and_tokenizer

    def model_used_for_inference_first(*args, **kwargs):
        model, tokenizer = original(*args, **kwargs)
        with torch.no_grad():
            model.generate(torch.tensor([[1, 5, 6]]), max_new_tokens=2)
        return model, tokenizer

    monkeypatch.setattr(lora, "load_model_and_tokenizer", model_used_for_inference_first)
    # bitsandbytes repacks 4-bit weights on a no-grad CPU forward only where the chip has
    # AVX512-BF16; elsewhere there is no trap and the same run must still learn.
    from bitsandbytes.functional import has_avx512bf16

    if has_avx512bf16():
        with pytest.raises(ZeroGradientError, match="bitsandbytes trap"):
            train_adapter(tiny_model_path, EXAMPLES, tmp_path / "trap", config=config)
    else:
        after_inference = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "trap", config=config)
        assert after_inference.train_losses[-1] < after_inference.train_losses[0]


def test_config_validates_and_round_trips():
    config = TrainConfig(r=8, use_dora=True, epochs=2)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig().lr == 3e-5 and TrainConfig().r == 16 and TrainConfig().alpha == 16
    with pytest.raises(ValueError, match="quantization must be one of"):
        TrainConfig(quantization="8bit")
    with pytest.raises(ValueError, match="full_finetune trains every weight"):
        TrainConfig(full_finetune=True, quantization="4bit")
    with pytest.raises(ValueError, match=r"unknown TrainConfig keys \['rank'\]"):
        TrainConfig.from_dict({"rank": 4})


def test_training_needs_labeled_examples(tiny_model_path, tmp_path):
    with pytest.raises(ValueError, match="no labeled examples"):
        train_adapter(tiny_model_path, [Example(id=1, input="x")], tmp_path / "none")
