"""Find what to generate in a Label Studio labeling config.

ATGen-LS generates text into a ``TextArea`` control. The object tag the TextArea points to
(``toName``, usually a ``Text``) holds the task input; other text objects in the config
(e.g. a passage next to a question) are context that goes into the prompt too.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from label_studio_sdk.label_interface import LabelInterface

logger = logging.getLogger(__name__)

TEXT_OBJECTS = ("Text", "HyperText", "Paragraphs", "Header")


class LabelConfigError(ValueError):
    """The labeling config cannot drive text generation; the message says what is missing."""


class MissingInputError(ValueError):
    """A task lacks the data field the labeling config reads."""


@dataclass(frozen=True)
class GenerationTarget:
    """Where the prompt comes from and where the generated text goes.

    ``from_name``/``to_name`` are the TextArea and its object tag; ``input_field`` is the task
    data key of that object (``$question`` -> ``question``); ``context_fields`` are the data
    keys of the other text objects, in config order, prepended to the prompt.
    """

    from_name: str
    to_name: str
    input_field: str
    context_fields: tuple[str, ...] = ()

    def prompt(self, data: Mapping[str, Any], max_chars: int | None = None) -> str:
        """The model input for one task's ``data``; raises :class:`MissingInputError`."""
        value = data.get(self.input_field)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingInputError(f"task data has no {self.input_field!r} field (labeling config reads ${self.input_field})")
        parts = [f"{key}: {data[key]}" for key in self.context_fields if data.get(key)]
        text = "\n".join([*parts, str(value)]) if parts else str(value)
        if max_chars is not None and len(text) > max_chars:
            logger.warning("task input of %d characters truncated to %d", len(text), max_chars)
            text = text[:max_chars]
        return text

    def result(self, text: str) -> dict[str, Any]:
        """A Label Studio result item holding ``text`` in the TextArea."""
        return {
            "from_name": self.from_name,
            "to_name": self.to_name,
            "type": "textarea",
            "value": {"text": [text]},
        }

    def text_of(self, result: list[Mapping[str, Any]]) -> str | None:
        """The TextArea text in an annotation's ``result`` (None if it has none)."""
        for item in result or ():
            if item.get("from_name") == self.from_name and item.get("type", "textarea").lower() == "textarea":
                texts = (item.get("value") or {}).get("text") or []
                text = "\n".join(t for t in texts if isinstance(t, str)).strip()
                if text:
                    return text
        return None


def parse_generation_target(config: str, target: str | None = None) -> GenerationTarget:
    """Parse ``config`` and return its generation target.

    ``target`` picks a TextArea by name when the config has several (default: the first).
    Raises :class:`LabelConfigError` naming what is missing or wrong.
    """
    if not config or not config.strip():
        raise LabelConfigError("the labeling config is empty; it needs a <TextArea> pointing at a <Text> object")
    try:
        interface = LabelInterface(config)
    except Exception as exc:  # the SDK raises several unrelated types for bad XML
        raise LabelConfigError(f"the labeling config is not valid XML: {exc}") from None
    textareas = [c for c in interface.controls if c.tag.lower() == "textarea"]
    if not textareas:
        tags = sorted({c.tag for c in interface.controls}) or ["none"]
        raise LabelConfigError(
            "the labeling config has no <TextArea> control to generate into "
            f"(control tags found: {', '.join(tags)}); add e.g. <TextArea name=\"answer\" toName=\"text\"/>"
        )
    if target is not None:
        chosen = [c for c in textareas if c.name == target]
        if not chosen:
            raise LabelConfigError(f"no <TextArea name={target!r}>; TextAreas: {', '.join(c.name for c in textareas)}")
        textarea = chosen[0]
    else:
        textarea = textareas[0]
    if not textarea.to_name:
        raise LabelConfigError(f"<TextArea name={textarea.name!r}> has no toName attribute")
    to_name = textarea.to_name[0]
    objects = {o.name: o for o in interface.objects}
    obj = objects.get(to_name)
    if obj is None:
        raise LabelConfigError(f"<TextArea name={textarea.name!r}> points at {to_name!r}, which is not an object tag")
    if obj.tag not in TEXT_OBJECTS or not _data_key(obj):
        raise LabelConfigError(
            f"<TextArea name={textarea.name!r}> points at <{obj.tag} name={to_name!r}>, "
            f"which holds no text from the task data (expected one of {', '.join(TEXT_OBJECTS)} with value=\"$field\")"
        )
    context = tuple(
        _data_key(o) for o in interface.objects if o.name != to_name and o.tag in TEXT_OBJECTS and _data_key(o)
    )
    return GenerationTarget(textarea.name, to_name, _data_key(obj), context)


def _data_key(obj) -> str | None:
    """``$question`` -> ``question``; None for a literal value (e.g. a static Header)."""
    value = obj.value or ""
    return value[1:] if value.startswith("$") and len(value) > 1 else None
