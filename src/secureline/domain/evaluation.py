"""The 4x4 evaluation code: source reliability (A, B, C, X) and information accuracy (1-4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from secureline.domain.errors import InvalidMessage

SOURCE_RELIABILITY = {
    "A": "no doubt about the source's reliability",
    "B": "source mostly reliable",
    "C": "source mostly unreliable",
    "X": "source reliability cannot be assessed",
}
INFORMATION_ACCURACY = {
    "1": "not in doubt",
    "2": "known personally to the source, not to the official passing it on",
    "3": "not known personally to the source, corroborated by information already held",
    "4": "not known personally to the source, cannot be corroborated",
}


@dataclass(frozen=True, slots=True)
class Evaluation:
    source: str
    accuracy: str

    @classmethod
    def parse(cls, text: str) -> Evaluation:
        if not isinstance(text, str) or len(text.strip()) != 2:
            raise InvalidMessage(
                "evaluation", f"{text!r} is not a 4x4 code: use A/B/C/X then 1-4, e.g. B2"
            )
        code = text.strip().upper()
        source, accuracy = code[0], code[1]
        if source not in SOURCE_RELIABILITY:
            raise InvalidMessage("evaluation", f"{text!r}: source reliability must be A, B, C or X")
        if accuracy not in INFORMATION_ACCURACY:
            raise InvalidMessage(
                "evaluation", f"{text!r}: information accuracy must be 1, 2, 3 or 4"
            )
        return cls(source, accuracy)

    def describe(self) -> str:
        return f"{SOURCE_RELIABILITY[self.source]}; {INFORMATION_ACCURACY[self.accuracy]}"

    def __str__(self) -> str:
        return self.source + self.accuracy


#: The sixteen codes in their canonical spelling: every header carries one.
_CANONICAL = {s + a: Evaluation(s, a) for s in SOURCE_RELIABILITY for a in INFORMATION_ACCURACY}


def _to_evaluation(value: Any) -> Evaluation:
    if isinstance(value, Evaluation):
        return value
    found = _CANONICAL.get(value) if isinstance(value, str) else None
    return found if found is not None else Evaluation.parse(value)


EvaluationField = Annotated[
    Evaluation, BeforeValidator(_to_evaluation), PlainSerializer(str, return_type=str)
]
