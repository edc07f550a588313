"""The one record type every package shares: a prompt and (maybe) its target text."""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

Output = str | Sequence[str] | None


@dataclass
class Example:
    """One text-generation example.

    ``id`` is stable across rounds (for Label Studio data, the task id): strategies take and
    return ids, never positions. ``output`` is the gold or annotated text, a list of
    references, or ``None`` for an unlabeled example.
    """

    id: Hashable
    input: str
    output: Output = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_labeled(self) -> bool:
        return self.output is not None and self.output != "" and self.output != []

    @property
    def references(self) -> list[str]:
        """The target as a list of reference texts (empty when unlabeled)."""
        if not self.is_labeled:
            return []
        if isinstance(self.output, str):
            return [self.output]
        return list(self.output)

    @property
    def target(self) -> str | None:
        """The first reference: what a model is trained to produce."""
        refs = self.references
        return refs[0] if refs else None
