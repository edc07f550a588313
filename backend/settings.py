"""Configuration: service-wide settings from the environment, and per-project settings.

Per-project settings start from environment defaults and are overridden by the
``extra_params`` Label Studio sends to ``/setup`` (the ML backend's "Extra params" field).
Every value is validated; a bad one raises :class:`SettingsError` naming the key.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from labellers import available as available_labellers
from strategies import available
from training.engine import ENGINE_KINDS
from training.precision import PRECISIONS

MODES = ("review", "auto")
# "gold" replays known answers: an oracle for simulations (benchmarks/), not for live projects.
LABELLERS = ("none", *(name for name in available_labellers() if name != "gold"))
PAID_LABELLERS = ("openai", "anthropic")


class SettingsError(ValueError):
    """A setting has an invalid value; ``key`` names it."""

    def __init__(self, key: str, message: str):
        super().__init__(f"invalid setting {key!r}: {message}")
        self.key = key


@dataclass
class ServiceSettings:
    """Process-wide settings, read from environment variables (see README's table)."""

    redis_url: str | None = None
    model_dir: Path = Path(".atgen/models")
    state_dir: Path = Path(".atgen")
    label_studio_url: str | None = None
    label_studio_api_key: str | None = None
    basic_auth_user: str | None = None
    basic_auth_pass: str | None = None
    engine: str = "transformers"
    engine_url: str | None = None
    queue_name: str = "atgen-ls"
    # Training and inference precision (training.precision): auto = bf16 where the hardware has it.
    precision: str = "auto"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if env is None else env
        state_dir = Path(env.get("ATGEN_STATE_DIR", ".atgen"))
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            model_dir=Path(env.get("MODEL_DIR", str(state_dir / "models"))),
            state_dir=state_dir,
            label_studio_url=(env.get("LABEL_STUDIO_URL") or None),
            label_studio_api_key=env.get("LABEL_STUDIO_API_KEY") or None,
            basic_auth_user=env.get("BASIC_AUTH_USER") or None,
            basic_auth_pass=env.get("BASIC_AUTH_PASS") or None,
            engine=env.get("ENGINE", "transformers"),
            engine_url=env.get("ENGINE_URL") or None,
            queue_name=env.get("QUEUE_NAME", "atgen-ls"),
            precision=env.get("PRECISION", "auto"),
        )

    def __post_init__(self):
        if self.engine not in ENGINE_KINDS:
            raise SettingsError("ENGINE", f"must be one of {', '.join(ENGINE_KINDS)}, got {self.engine!r}")
        if self.engine == "openai_compatible" and not self.engine_url:
            raise SettingsError("ENGINE_URL", "ENGINE=openai_compatible needs ENGINE_URL, e.g. http://gpu-box:8000/v1")
        if self.precision not in PRECISIONS:
            raise SettingsError("PRECISION", f"must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    @property
    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments of ``training.get_engine`` beyond the kind and model."""
        if self.engine == "openai_compatible":
            return {"base_url": self.engine_url}  # the server runs in its own precision
        from training.models import default_device
        from training.precision import precision_dtype_name, resolve_precision

        return {"dtype": precision_dtype_name(resolve_precision(self.precision, default_device()))}


@dataclass
class ProjectSettings:
    """What one Label Studio project asked for. Field names are the keys users set."""

    strategy: str = "huds"
    strategy_params: dict[str, Any] = field(default_factory=dict)
    # Strategy used while a project has no annotations (experimental design: embeddings only).
    ed_strategy: str = "facility_location"
    query_size: int = 10
    retrain_every: int = 5
    model_name: str = "smollm2"
    system_prompt: str | None = None
    max_new_tokens: int = 64
    max_input_chars: int = 4000
    train_epochs: int = 3
    learning_rate: float = 3e-4
    min_labeled: int = 2
    labeller: str = "none"
    labeller_params: dict[str, Any] = field(default_factory=dict)
    budget: float = 0.0
    mode: str = "review"
    # Auto mode stops after this many LLM-made annotations (0: only the budget stops it).
    auto_max_labels: int = 0
    seed: int = 0

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_sources(
        cls, env: Mapping[str, str] | None = None, extra_params: Mapping[str, Any] | str | None = None
    ) -> ProjectSettings:
        """Defaults, overridden by ``ATGEN_<KEY>`` environment variables, overridden by
        ``extra_params`` (a dict or a JSON string, as Label Studio stores it)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("MODEL_NAME"):  # the conventional name, as in other Label Studio ML backends
            values["model_name"] = env["MODEL_NAME"]
        for f in fields(cls):
            raw = env.get(f"ATGEN_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = raw
        values.update(_parse_extra_params(extra_params))
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ProjectSettings:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise SettingsError(unknown[0], f"unknown key; valid keys: {', '.join(known)}")
        defaults = cls()
        coerced = {name: _coerce(name, value, getattr(defaults, name)) for name, value in values.items()}
        settings = cls(**coerced)
        settings.validate()
        return settings

    def validate(self) -> None:
        for key in ("strategy", "ed_strategy"):
            if getattr(self, key) not in available():
                raise SettingsError(key, f"unknown strategy {getattr(self, key)!r}; available: {', '.join(available())}")
        for key in ("query_size", "retrain_every", "max_new_tokens", "max_input_chars", "train_epochs"):
            if getattr(self, key) < 1:
                raise SettingsError(key, f"must be >= 1, got {getattr(self, key)}")
        if self.min_labeled < 1:
            raise SettingsError("min_labeled", f"must be >= 1, got {self.min_labeled}")
        if not self.learning_rate > 0:
            raise SettingsError("learning_rate", f"must be > 0, got {self.learning_rate}")
        if self.budget < 0:
            raise SettingsError("budget", f"must be >= 0, got {self.budget}")
        if self.mode not in MODES:
            raise SettingsError("mode", f"must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.labeller not in LABELLERS:
            raise SettingsError("labeller", f"must be one of {', '.join(LABELLERS)}, got {self.labeller!r}")
        if self.mode == "auto" and self.labeller == "none":
            raise SettingsError("mode", "auto mode needs a labeller (set 'labeller')")
        if self.labeller in PAID_LABELLERS and self.budget <= 0:
            raise SettingsError("budget", f"the {self.labeller} labeller costs money: set a budget in USD > 0")
        if self.auto_max_labels < 0:
            raise SettingsError("auto_max_labels", f"must be >= 0, got {self.auto_max_labels}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ProjectSettings:
        return cls.from_dict(json.loads(text))


def _parse_extra_params(extra_params: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if extra_params in (None, ""):
        return {}
    if isinstance(extra_params, str):
        try:
            extra_params = json.loads(extra_params)
        except json.JSONDecodeError as exc:
            raise SettingsError("extra_params", f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(extra_params, Mapping):
        raise SettingsError("extra_params", f"must be a JSON object, got {type(extra_params).__name__}")
    return dict(extra_params)


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Turn strings from the environment (and JSON numbers) into the field's type."""
    if isinstance(default, bool) or default is None:
        return value
    try:
        if isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if isinstance(default, dict):
            parsed = json.loads(value) if isinstance(value, str) else value
            if not isinstance(parsed, dict):
                raise ValueError
            return parsed
        if isinstance(default, str):
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError, json.JSONDecodeError):
        raise SettingsError(name, f"expected {type(default).__name__}, got {value!r}") from None
    return value
