"""TLP 2.0 and UK 3x5x2 mapped to our marking and back; unknown labels refused."""

from __future__ import annotations

import itertools

import pytest

from secureline.domain.errors import InvalidMessage
from secureline.domain.evaluation import Evaluation
from secureline.domain.markings import (
    TLP_AMBER_STRICT_CONDITIONS,
    TLP_RED_CONDITIONS,
    UK_CONDITIONS,
    Marking,
    Tlp,
    from_tlp,
    from_uk_3x5x2,
    to_tlp,
    to_uk_3x5x2,
)
from secureline.domain.message import parse_draft
from secureline.domain.vocabulary import Classification, HandlingCode

H0, H1, H2, H3 = HandlingCode
UNCLASSIFIED, BASIC, RESTRICTED, CONFIDENTIAL = Classification

# --- bad input first -------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["PURPLE", "WHITE", "AMBER-STRICT", "", "TLP:", 3, None])
def test_unknown_tlp_label_is_refused(label: object) -> None:
    with pytest.raises(InvalidMessage) as caught:
        from_tlp(label)  # type: ignore[arg-type]
    assert caught.value.field == "tlp"


def test_tlp_white_is_refused_with_the_2_0_labels() -> None:
    # TLP 1.0's WHITE became CLEAR in 2.0; guessing would hide a stale partner config.
    with pytest.raises(InvalidMessage, match="CLEAR, GREEN, AMBER, AMBER\\+STRICT, RED"):
        from_tlp("WHITE")


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("4AP", "'4' is not a source evaluation"),
        ("1FP", "'F' is not an intelligence assessment"),
        ("1AX", "'X' is not a handling code"),
        ("A1P", "'A' is not a source evaluation"),
        ("1A", "not a 3x5x2 code"),
        ("1APP", "not a 3x5x2 code"),
        ("", "not a 3x5x2 code"),
    ],
)
def test_bad_3x5x2_code_names_the_bad_character(code: str, named: str) -> None:
    with pytest.raises(InvalidMessage, match=named) as caught:
        from_uk_3x5x2(code)
    assert caught.value.field == "uk_3x5x2"


def test_3x5x2_code_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="not a 3x5x2 code"):
        from_uk_3x5x2(123)  # type: ignore[arg-type]


# --- TLP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tlp", "expected"),
    [
        (Tlp.CLEAR, Marking(H0, UNCLASSIFIED)),
        (Tlp.GREEN, Marking(H0, BASIC)),
        (Tlp.AMBER, Marking(H2, RESTRICTED)),
        (Tlp.AMBER_STRICT, Marking(H3, RESTRICTED, TLP_AMBER_STRICT_CONDITIONS)),
        (Tlp.RED, Marking(H3, CONFIDENTIAL, TLP_RED_CONDITIONS)),
    ],
)
def test_from_tlp_table(tlp: Tlp, expected: Marking) -> None:
    assert from_tlp(tlp) == expected


@pytest.mark.parametrize(
    "spelling", ["AMBER+STRICT", "amber+strict", "TLP:AMBER+STRICT", " tlp:Amber+Strict "]
)
def test_from_tlp_accepts_common_spellings(spelling: str) -> None:
    assert from_tlp(spelling) == from_tlp(Tlp.AMBER_STRICT)


def test_red_says_named_recipients_only() -> None:
    assert from_tlp("RED").conditions == "TLP:RED — for the named recipients only"


@pytest.mark.parametrize("tlp", list(Tlp))
def test_tlp_round_trips(tlp: Tlp) -> None:
    marking = from_tlp(tlp)
    assert to_tlp(marking.handling, marking.classification) is tlp


@pytest.mark.parametrize(
    ("handling", "classification", "expected"),
    [
        (H0, UNCLASSIFIED, Tlp.CLEAR),
        (H0, BASIC, Tlp.GREEN),
        (H0, RESTRICTED, Tlp.AMBER),
        (H0, CONFIDENTIAL, Tlp.RED),
        (H1, UNCLASSIFIED, Tlp.AMBER),
        (H1, BASIC, Tlp.AMBER),
        (H2, BASIC, Tlp.AMBER),
        (H2, CONFIDENTIAL, Tlp.RED),
        (H3, UNCLASSIFIED, Tlp.AMBER_STRICT),
        (H3, RESTRICTED, Tlp.AMBER_STRICT),
        (H3, CONFIDENTIAL, Tlp.RED),
    ],
)
def test_to_tlp_table(
    handling: HandlingCode, classification: Classification, expected: Tlp
) -> None:
    assert to_tlp(handling, classification) is expected


@pytest.mark.parametrize(
    ("handling", "classification"), list(itertools.product(HandlingCode, Classification))
)
def test_to_tlp_never_loosens_a_restriction(
    handling: HandlingCode, classification: Classification
) -> None:
    # Restrictive codes never export as labels that allow sharing beyond the organisation.
    label = to_tlp(handling, classification)
    if handling in (H2, H3) or classification is CONFIDENTIAL:
        assert label.rank >= Tlp.AMBER.rank
    if handling is H3:
        assert label.rank >= Tlp.AMBER_STRICT.rank


@pytest.mark.parametrize("tlp", list(Tlp))
def test_tlp_marking_makes_a_valid_draft(tlp: Tlp) -> None:
    # The marking must satisfy the header rules (conditions exactly with H3).
    marking = from_tlp(tlp)
    draft = parse_draft(
        {
            "kind": "information",
            "crime_area": "cyber-crime",
            "subject": "Phishing kit indicators",
            "handling": marking.handling,
            "handling_conditions": marking.conditions,
            "classification": marking.classification,
            "evaluation": "B2",
            "purpose": "prevent and combat serious crime",
            "to": ["cert@nl"],
        }
    )
    assert draft.handling is marking.handling


# --- UK 3x5x2 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "evaluation", "marking"),
    [
        ("1AP", "B2", Marking(H0, BASIC)),
        ("2BC", "X3", Marking(H3, BASIC, UK_CONDITIONS)),
        ("3CP", "C4", Marking(H0, BASIC)),
        ("1DP", "B4", Marking(H0, BASIC)),
        ("3EC", "C4", Marking(H3, BASIC, UK_CONDITIONS)),
        (" 2ap ", "X2", Marking(H0, BASIC)),
    ],
)
def test_from_uk_3x5x2_table(code: str, evaluation: str, marking: Marking) -> None:
    assert from_uk_3x5x2(code) == (Evaluation.parse(evaluation), marking)


@pytest.mark.parametrize(
    ("evaluation", "handling", "code"),
    [
        ("A1", H0, "1AP"),
        ("B2", H0, "1AP"),
        ("X3", H1, "2BC"),
        ("C4", H2, "3CC"),
        ("B3", H3, "1BC"),
    ],
)
def test_to_uk_3x5x2_table(evaluation: str, handling: HandlingCode, code: str) -> None:
    assert to_uk_3x5x2(Evaluation.parse(evaluation), handling) == code


@pytest.mark.parametrize(
    "code",
    ["".join(chars) for chars in itertools.product("123", "ABC", "PC")],
)
def test_3x5x2_round_trips_where_both_schemes_can_say_it(code: str) -> None:
    evaluation, marking = from_uk_3x5x2(code)
    assert to_uk_3x5x2(evaluation, marking.handling) == code


@pytest.mark.parametrize("assessment", ["D", "E"])
def test_3x5x2_d_and_e_fall_to_the_weakest_accuracy(assessment: str) -> None:
    evaluation, _ = from_uk_3x5x2(f"1{assessment}P")
    assert evaluation.accuracy == "4"
