"""The ``local`` labeller: a Hugging Face model through the ``training/`` inference engine.

No API, no cost: the budget never binds. The engine applies the model's chat template with this
labeller's system prompt; reasoning blocks are stripped and empty answers flagged as for API
labellers.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from labellers.annotation import Annotation
from labellers.answers import clean_answer
from labellers.base import Labeller
from labellers.errors import LabellerConfigError
from labellers.prompts import PromptTemplate
from training.engine import Engine, get_engine
from training.example import Example

#: The round's few-shot examples are drawn with this seed: one engine prompt layout per call.
_ROUND_SHOTS_SEED = "local-round"


class LocalLabeller(Labeller):
    """Annotates with a local model (default: the packaged SmolLM2-135M-Instruct).

    ``engine``: an already built engine to reuse (its own system prompt applies; ``n_shots`` must
    then be 0). Otherwise one is built on first use with ``training.get_engine(kind, model=...,
    adapter=..., system_prompt=..., few_shot=..., **engine_options)``. With ``n_shots > 0`` the
    few-shot examples are drawn once per ``annotate`` call from ``labeled`` (the engine formats
    every prompt of a batch the same way). ``input_tokens`` are not counted (nothing is billed);
    ``output_tokens`` are the generated tokens.
    """

    name = "local"

    def __init__(
        self,
        model: str | None = None,
        *,
        adapter: str | None = None,
        engine: Engine | None = None,
        kind: str = "transformers",
        task: str = "generation",
        system_prompt: str | None = None,
        n_shots: int = 0,
        max_tokens: int = 256,
        temperature: float = 0.0,
        **engine_options: Any,
    ) -> None:
        if engine is not None and n_shots:
            raise LabellerConfigError("few-shot prompting needs the labeller's own engine: pass n_shots=0 with engine=")
        self.model = model or "SmolLM2-135M-Instruct"
        self._model_path = model
        self.adapter = adapter
        self.kind = kind
        self.template = PromptTemplate.for_task(task, n_shots=n_shots, system=system_prompt)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.engine_options = engine_options
        self._engine = engine
        self._engine_shots: tuple[tuple[str, str], ...] | None = None
        self._lock = threading.Lock()

    def _engine_for(self, shots: tuple[tuple[str, str], ...]) -> Engine:
        # Loading a model takes seconds (SmolLM2: ~18 s from GGUF), so the engine is built once and
        # rebuilt only when the round's few-shot examples change.
        if self._engine is None or (self._engine_shots is not None and shots != self._engine_shots):
            self._engine = get_engine(
                self.kind,
                model=self._model_path,
                adapter=self.adapter,
                system_prompt=self.template.system,
                few_shot=shots,
                **self.engine_options,
            )
            self._engine_shots = shots
        return self._engine

    @property
    def engine(self) -> Engine:
        """The engine this labeller generates with (built on first use)."""
        with self._lock:
            return self._engine_for(self._engine_shots or ())

    def annotate(self, examples: Sequence[Example], *, labeled: Sequence[Example] = ()) -> list[Annotation]:
        if not examples:
            return []
        shots = tuple((s.input, s.target) for s in self.template.shots(_ROUND_SHOTS_SEED, labeled))
        with self._lock:
            engine = self._engine_for(shots)
            generations = engine.generate(
                [e.input for e in examples], n=1, temperature=self.temperature, max_new_tokens=self.max_tokens
            )
        annotations = []
        for example, (generation, *_) in zip(examples, generations, strict=True):
            text, error = clean_answer(generation.text)
            annotations.append(
                Annotation(example.id, text, self.model, output_tokens=len(generation.token_ids), error=error)
            )
        return annotations
