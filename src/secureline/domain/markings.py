"""Other marking schemes, mapped to ours (handling code, 4x4 evaluation, classification).

Partners outside the SIENA/I-24/7 world mark what they send with TLP 2.0 (cyber-crime
partners, CERTs) or the UK 3x5x2 intelligence handling model. Import maps their marking to
ours; export maps ours back. Where the schemes differ in what they can say, the mapping
takes the **more restrictive** reading, so that nothing becomes easier to share by passing
through secureline. These tables are the reference copied into the documentation.

TLP 2.0 to ours (:func:`from_tlp`)
----------------------------------

============  ========  ==============  =====================================================
TLP           handling  classification  conditions (H3 text)
============  ========  ==============  =====================================================
CLEAR         H0        unclassified    —
GREEN         H0        basic           —
AMBER         H2        restricted      —
AMBER+STRICT  H3        restricted      "TLP:AMBER+STRICT — within the recipient's
                                        organisation only; not to be passed on without the
                                        provider's permission"
RED           H3        confidential    "TLP:RED — for the named recipients only"
============  ========  ==============  =====================================================

AMBER allows need-to-know sharing inside the recipient organisation *and its clients*, and
no further: that is H2 (no dissemination without the provider's permission). AMBER+STRICT
drops the clients; our handling codes cannot say "not to clients", and only H3 may carry
conditions, so it becomes H3 with the restriction in words (the policy treats forwarded H3
like H2: no onward transfer without a grant). RED is for named recipients only: H3 with
that condition, and the highest classification.

Ours to TLP (:func:`to_tlp`): the more restrictive of the two columns below. Round trip:
``to_tlp(*from_tlp(t))`` is ``t`` for every TLP label.

==============  ============  ==============  ============
handling        TLP at least  classification  TLP at least
==============  ============  ==============  ============
H0              CLEAR         unclassified    CLEAR
H1              AMBER         basic           GREEN
H2              AMBER         restricted      AMBER
H3              AMBER+STRICT  confidential    RED
==============  ============  ==============  ============

H1 (no judicial use without permission) has no TLP equivalent; AMBER keeps the copies few
and known so that the restriction can still be honoured. H3's conditions are free text that
TLP cannot carry, so it is exported as AMBER+STRICT (or RED when confidential).

UK 3x5x2 to ours (:func:`from_uk_3x5x2`), code such as ``1AP``
---------------------------------------------------------------

=====================================  =====  ======================================
3x5x2 source evaluation                4x4    back (:func:`to_uk_3x5x2`)
=====================================  =====  ======================================
1 reliable                             B      A → 1, B → 1
2 untested                             X      X → 2
3 not reliable                         C      C → 3
=====================================  =====  ======================================

=====================================  =====  ======================================
3x5x2 intelligence assessment          4x4    back
=====================================  =====  ======================================
A known directly to the source         2      1 → A, 2 → A
B known indirectly, corroborated       3      3 → B
C known indirectly to the source       4      4 → C
D not known                            4      (lossy: comes back as C)
E suspected to be false                4      (lossy: comes back as C)
=====================================  =====  ======================================

=====================================  ==============================  ======================
3x5x2 handling code                    ours                            back
=====================================  ==============================  ======================
P lawful sharing permitted             H0, basic                       H0 → P
C lawful sharing with conditions       H3, basic, conditions below     H1, H2, H3 → C
=====================================  ==============================  ======================

Source 1 maps to B, not A: 3x5x2 folded 5x5x5's "always reliable" and "mostly reliable"
into one grade, and claiming "no doubt" for it would overstate. A is "known directly to the
source", which is 4x4's 2; 4x4's 1 ("not in doubt") has no stronger 3x5x2 grade than A.
D and E have no 4x4 equivalent and fall to 4, the weakest accuracy: state "suspected to be
false" in the body. 3x5x2 carries no security classification (that is the separate UK
Government Security Classification), so imports get our default, basic; the conditions of a
C code live in the originator's record, so the H3 text tells the recipient to ask for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from secureline.domain.errors import InvalidMessage
from secureline.domain.evaluation import Evaluation
from secureline.domain.vocabulary import Classification, HandlingCode

__all__ = [
    "Tlp",
    "Marking",
    "from_tlp",
    "to_tlp",
    "from_uk_3x5x2",
    "to_uk_3x5x2",
    "TLP_AMBER_STRICT_CONDITIONS",
    "TLP_RED_CONDITIONS",
    "UK_CONDITIONS",
]


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 labels, least to most restrictive."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        return _TLP_ORDER.index(self)


_TLP_ORDER = list(Tlp)


@dataclass(frozen=True, slots=True)
class Marking:
    """Our marking of a message; ``conditions`` is set exactly when handling is H3."""

    handling: HandlingCode
    classification: Classification
    conditions: str | None = None


TLP_AMBER_STRICT_CONDITIONS = (
    "TLP:AMBER+STRICT — within the recipient's organisation only; "
    "not to be passed on without the provider's permission"
)
TLP_RED_CONDITIONS = "TLP:RED — for the named recipients only"
UK_CONDITIONS = (
    "UK 3x5x2 handling code C: lawful sharing permitted with conditions set by the "
    "originator; ask the provider for them before any further use"
)

_FROM_TLP = {
    Tlp.CLEAR: Marking(HandlingCode.H0, Classification.UNCLASSIFIED),
    Tlp.GREEN: Marking(HandlingCode.H0, Classification.BASIC),
    Tlp.AMBER: Marking(HandlingCode.H2, Classification.RESTRICTED),
    Tlp.AMBER_STRICT: Marking(
        HandlingCode.H3, Classification.RESTRICTED, TLP_AMBER_STRICT_CONDITIONS
    ),
    Tlp.RED: Marking(HandlingCode.H3, Classification.CONFIDENTIAL, TLP_RED_CONDITIONS),
}
_TLP_FOR_HANDLING = {
    HandlingCode.H0: Tlp.CLEAR,
    HandlingCode.H1: Tlp.AMBER,
    HandlingCode.H2: Tlp.AMBER,
    HandlingCode.H3: Tlp.AMBER_STRICT,
}
_TLP_FOR_CLASSIFICATION = {
    Classification.UNCLASSIFIED: Tlp.CLEAR,
    Classification.BASIC: Tlp.GREEN,
    Classification.RESTRICTED: Tlp.AMBER,
    Classification.CONFIDENTIAL: Tlp.RED,
}

UK_SOURCE = {"1": "B", "2": "X", "3": "C"}
UK_SOURCE_MEANING = {"1": "reliable", "2": "untested", "3": "not reliable"}
UK_ASSESSMENT = {"A": "2", "B": "3", "C": "4", "D": "4", "E": "4"}
UK_ASSESSMENT_MEANING = {
    "A": "known directly to the source",
    "B": "known indirectly to the source, corroborated",
    "C": "known indirectly to the source",
    "D": "not known",
    "E": "suspected to be false",
}
UK_HANDLING = {
    "P": Marking(HandlingCode.H0, Classification.BASIC),
    "C": Marking(HandlingCode.H3, Classification.BASIC, UK_CONDITIONS),
}
_TO_UK_SOURCE = {"A": "1", "B": "1", "C": "3", "X": "2"}
_TO_UK_ASSESSMENT = {"1": "A", "2": "A", "3": "B", "4": "C"}


def from_tlp(tlp: Tlp | str) -> Marking:
    """Our marking for a TLP label; accepts ``AMBER``, ``amber`` or ``TLP:AMBER``."""
    if isinstance(tlp, Tlp):
        return _FROM_TLP[tlp]
    if not isinstance(tlp, str):
        raise InvalidMessage("tlp", f"expected a TLP label, got {tlp!r}")
    label = tlp.strip().upper().removeprefix("TLP:").strip()
    try:
        return _FROM_TLP[Tlp(label)]
    except ValueError:
        raise InvalidMessage(
            "tlp", f"{tlp!r} is not a TLP 2.0 label: use {', '.join(Tlp)}"
        ) from None


def to_tlp(handling: HandlingCode, classification: Classification) -> Tlp:
    """The most restrictive TLP label consistent with our handling code and classification."""
    return max(
        _TLP_FOR_HANDLING[HandlingCode(handling)],
        _TLP_FOR_CLASSIFICATION[Classification(classification)],
        key=lambda label: label.rank,
    )


def from_uk_3x5x2(code: str) -> tuple[Evaluation, Marking]:
    """Our evaluation and marking for a 3x5x2 code such as ``1AP`` or ``2bc``."""
    if not isinstance(code, str) or len(code.strip()) != 3:
        raise InvalidMessage(
            "uk_3x5x2",
            f"{code!r} is not a 3x5x2 code: source 1-3, assessment A-E, handling P or C, e.g. 1AP",
        )
    cleaned = code.strip().upper()
    source, assessment, handling = cleaned[0], cleaned[1], cleaned[2]
    if source not in UK_SOURCE:
        raise InvalidMessage(
            "uk_3x5x2", f"{code!r}: {source!r} is not a source evaluation: use 1, 2 or 3"
        )
    if assessment not in UK_ASSESSMENT:
        raise InvalidMessage(
            "uk_3x5x2",
            f"{code!r}: {assessment!r} is not an intelligence assessment: use A, B, C, D or E",
        )
    if handling not in UK_HANDLING:
        raise InvalidMessage(
            "uk_3x5x2", f"{code!r}: {handling!r} is not a handling code: use P or C"
        )
    evaluation = Evaluation(UK_SOURCE[source], UK_ASSESSMENT[assessment])
    return evaluation, UK_HANDLING[handling]


def to_uk_3x5x2(evaluation: Evaluation, handling: HandlingCode) -> str:
    """The 3x5x2 code for our evaluation and handling code; any restriction becomes C."""
    source = _TO_UK_SOURCE[evaluation.source]
    assessment = _TO_UK_ASSESSMENT[evaluation.accuracy]
    condition = "P" if HandlingCode(handling) is HandlingCode.H0 else "C"
    return source + assessment + condition
