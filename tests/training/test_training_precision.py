"""bf16 mixed precision: when ``auto`` picks it, that training in it still learns with float32
adapters, and that engines serve a bf16 model with its adapters in bf16."""
import pytest
import torch
from safetensors.torch import load_file

from training import precision
from training.example import Example
from training.lora import TrainConfig, train_adapter
from training.models import load_model_and_tokenizer
from training.transformers_engine import TransformersEngine

pytestmark = pytest.mark.unit

WORDS = ["cat", "dog", "red", "blue", "one", "two", "sun", "moon"]
EXAMPLES = [Example(id=i, input=f"say {w}", output=w) for i, w in enumerate(WORDS)]
FAST = dict(lr=1e-2, epochs=20, batch_size=4, eval_fraction=0.0, warmup_ratio=0.0, r=8, alpha=16)


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"),
    [(False, False, "fp32"), (True, False, "bf16"), (False, True, "bf16")],
)
def test_auto_takes_bf16_only_on_a_cpu_that_computes_it(monkeypatch, avx512_bf16, amx, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert precision.resolve_precision("auto", "cpu") == expected
    # an explicit choice is kept whatever the chip
    assert precision.resolve_precision("fp32", "cpu") == "fp32"
    assert precision.resolve_precision("bf16", "cpu") == "bf16"


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_that_emulates_it_warns_once_and_is_kept(monkeypatch, caplog, native):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    precision._warn_emulated.cache_clear()
    with caplog.at_level("WARNING", logger="training.precision"):
        resolved = [precision.resolve_precision(name, "cpu") for name in ("bf16", "bf16", "auto", "fp32")]
    assert resolved == ["bf16", "bf16", "bf16" if native else "fp32", "fp32"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if native:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert "bf16 on cpu, which has no AVX512-BF16 or AMX" in warnings[0] and "pick fp32 or auto" in warnings[0]
    precision._warn_emulated.cache_clear()


def test_a_torch_without_the_cpu_probes_means_float32(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert precision.resolve_precision("auto", "cpu") == "fp32"


def test_an_unknown_precision_is_refused_by_name():
    with pytest.raises(ValueError, match=r"precision must be one of \('auto', 'fp32', 'bf16'\) \(got 'fp16'\)"):
        TrainConfig(precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.resolve_precision("half", "cpu")


def test_bf16_training_learns_and_saves_float32_adapters(tiny_model_path, tmp_path):
    runs = {
        name: train_adapter(tiny_model_path, EXAMPLES, tmp_path / name, config=TrainConfig(**FAST, precision=name))
        for name in ("fp32", "bf16")
    }
    assert {name: run.precision for name, run in runs.items()} == {"fp32": "fp32", "bf16": "bf16"}
    bf16 = runs["bf16"]
    assert bf16.train_losses[-1] < 0.1 * bf16.train_losses[0]
    # the same run in another precision: close, not equal (bf16 rounds every matmul input)
    assert bf16.train_losses != runs["fp32"].train_losses
    assert bf16.train_losses[0] == pytest.approx(runs["fp32"].train_losses[0], rel=0.05)
    weights = load_file(tmp_path / "bf16" / "adapter_model.safetensors")
    assert weights and {tensor.dtype for tensor in weights.values()} == {torch.float32}


def test_auto_training_records_what_it_resolved_to(tiny_model_path, tmp_path):
    result = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "a", config=TrainConfig(**{**FAST, "epochs": 1}))
    assert result.config["precision"] == "auto"
    assert result.precision == precision.resolve_precision("auto", "cpu")


def test_a_bf16_engine_serves_its_adapters_in_bf16(tiny_model_path, tmp_path):
    train_adapter(tiny_model_path, EXAMPLES, tmp_path / "v1", config=TrainConfig(**FAST, precision="bf16"))
    engine = TransformersEngine(model=tiny_model_path, adapter=tmp_path / "v1", dtype="bfloat16")
    adapter_dtypes = {p.dtype for name, p in engine._active_model().named_parameters() if "lora_" in name}
    assert adapter_dtypes == {torch.bfloat16}
    answers = [g[0].text for g in engine.generate([e.input for e in EXAMPLES], max_new_tokens=5)]
    assert sum(a == w for a, w in zip(answers, WORDS, strict=True)) >= 7, answers


def test_the_lm_head_gets_a_contiguous_input_and_the_same_logits(tiny_model_path):
    model, _ = load_model_and_tokenizer(tiny_model_path, dtype=torch.float32)
    head = model.get_output_embeddings()
    seen = []
    head.register_forward_pre_hook(lambda module, args: seen.append(args[0].is_contiguous()))
    hidden = torch.randn(3, 5, head.in_features)
    last = hidden[:, -1:, :]  # what generate hands the head after the prompt: a strided view
    assert not last.is_contiguous()
    assert torch.equal(head(last), head(last.contiguous()))
    assert seen == [True, True]


def test_qlora_computes_in_bf16_and_learns(tiny_model_path, tmp_path):
    config = TrainConfig(**{**FAST, "epochs": 4, "eval_fraction": 0.25}, quantization="4bit", precision="bf16")
    result = train_adapter(tiny_model_path, EXAMPLES, tmp_path / "q", config=config)
    assert result.mode == "qlora" and result.precision == "bf16"
    assert result.train_losses[-1] < result.train_losses[0] and result.eval_losses[-1] < result.eval_losses[0]
