"""The ``gold`` labeller: answers with the reference output, for simulations and benchmarks."""
from __future__ import annotations

from collections.abc import Sequence

from labellers.annotation import Annotation
from labellers.base import Labeller
from training.example import Example

NO_REFERENCE = "no reference output for this example"


class GoldLabeller(Labeller):
    """Returns each example's first reference (``Example.target``) at no cost.

    Simulated AL (ATGen, Tsvigun et al., ACL 2025 demo) replays a labelled dataset as if a
    perfect annotator labelled the selected examples; this labeller is that annotator.
    """

    name = "gold"

    def annotate(self, examples: Sequence[Example], *, labeled: Sequence[Example] = ()) -> list[Annotation]:
        return [
            Annotation(e.id, e.target, self.name) if e.is_labeled else Annotation(e.id, "", self.name, error=NO_REFERENCE)
            for e in examples
        ]
