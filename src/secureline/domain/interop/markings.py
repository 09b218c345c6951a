"""STIX and MISP markings to our handling code, classification and conditions, and back.

The rule of ``docs/markings.md`` holds across every scheme: where a document carries several
markings (one per object, granular markings on parts of an object, TLP and distribution
levels in MISP), the message takes the **most restrictive** of them, so that nothing becomes
easier to share by passing through secureline. Statements (STIX ``statement`` marking
definitions, MISP PAP tags below GREEN) restrict use in words: they become H3 conditions.

STIX 2.1 TLP marking definitions are fixed objects with published ids (STIX 2.1 section
7.2.1.4 for TLP 1.0; the OASIS TLP 2.0 extension for 2.0). A TLP marking definition whose id
is not one of them, or whose level differs from its id's, is refused: a partner cannot
make up a ``TLP:CLEAR`` of its own.

TLP 1.0 to 2.0: WHITE is CLEAR; GREEN, AMBER and RED mean the same in both (1.0's AMBER
already allowed sharing with clients, like 2.0's AMBER).

MISP distribution (event, attribute or object) to TLP, the more restrictive reading:

=====  ==============================  ==============
level  MISP says                       read as
=====  ==============================  ==============
0      your organisation only          AMBER+STRICT
1      this community only             AMBER
2      connected communities           AMBER
3      all communities                 GREEN
4      a sharing group                 AMBER+STRICT, plus the condition naming the group
5      inherit the event's             the event's
=====  ==============================  ==============

"All communities" is not public: GREEN, never CLEAR. Export writes the reverse: the TLP
label of ``to_tlp`` as a ``tlp:`` tag, and distribution 0 for AMBER+STRICT and RED, 1 for
AMBER, 3 for GREEN and CLEAR.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from secureline.domain.errors import InvalidMessage
from secureline.domain.markings import Marking, Tlp, from_tlp, to_tlp
from secureline.domain.vocabulary import Classification, HandlingCode

__all__ = [
    "TLP1_IDS",
    "TLP2_IDS",
    "TLP2_EXTENSION",
    "Reading",
    "marking_of",
    "read_definition",
    "tlp_definition",
    "statement_definition",
    "stix_markings_for",
    "misp_distribution_tlp",
    "misp_tag_reading",
    "misp_tags_for",
]

TLP1_IDS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,  # WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
_TLP1_LEVEL = {Tlp.CLEAR: "white", Tlp.GREEN: "green", Tlp.AMBER: "amber", Tlp.RED: "red"}
TLP2_IDS: dict[str, Tlp] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
}
_TLP2_FOR = {tlp: marking_id for marking_id, tlp in TLP2_IDS.items()}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_TLP1_CREATED = "2017-01-20T00:00:00.000Z"
_TLP2_CREATED = "2022-10-01T00:00:00.000Z"
#: The namespace of our statement marking definitions' ids (uuid5 of the statement), so that
#: one statement always has one id.
_STATEMENT_NAMESPACE = uuid.UUID("2f0f4e8a-6c1e-5b9a-9d3e-5e6375726c6e")
MAX_STATEMENT_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class Reading:
    """What one marking says: a TLP level, or a statement restricting use in words."""

    tlp: Tlp | None = None
    statement: str | None = None


def _where(obj: Mapping[str, Any], field: str) -> str:
    return f"{str(obj.get('id', '?'))[:100]}.{field}"


def read_definition(obj: Mapping[str, Any]) -> Reading:
    """A STIX marking-definition object's meaning, or InvalidMessage naming its field."""
    marking_id = obj.get("id")
    kind = obj.get("definition_type")
    definition = obj.get("definition")
    extensions = obj.get("extensions")
    if isinstance(extensions, Mapping) and TLP2_EXTENSION in extensions:
        ext = extensions[TLP2_EXTENSION]
        level = ext.get("tlp_2_0") if isinstance(ext, Mapping) else None
        expected = TLP2_IDS.get(str(marking_id))
        if expected is None or not isinstance(level, str) or level.upper() != expected.value:
            raise InvalidMessage(
                _where(obj, f"extensions.{TLP2_EXTENSION}.tlp_2_0"),
                f"{level!r} under this id is not a TLP 2.0 marking definition of the "
                "published ones",
                code="unknown_marking",
            )
        return Reading(tlp=expected)
    if kind == "tlp":
        level = definition.get("tlp") if isinstance(definition, Mapping) else None
        expected = TLP1_IDS.get(str(marking_id))
        if expected is None or level != _TLP1_LEVEL[expected]:
            raise InvalidMessage(
                _where(obj, "definition.tlp"),
                f"{level!r} under this id is not one of the TLP 1.0 marking definitions "
                "STIX 2.1 publishes",
                code="unknown_marking",
            )
        return Reading(tlp=expected)
    if kind == "statement":
        text = definition.get("statement") if isinstance(definition, Mapping) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidMessage(
                _where(obj, "definition.statement"), "a statement marking needs its text"
            )
        if len(text) > MAX_STATEMENT_CHARS:
            raise InvalidMessage(
                _where(obj, "definition.statement"),
                f"longer than {MAX_STATEMENT_CHARS} characters",
                code="field_too_long",
            )
        return Reading(statement=" ".join(text.split()))
    raise InvalidMessage(
        _where(obj, "definition_type"),
        f"{kind!r} is not a marking secureline can honour (tlp, statement or TLP 2.0)",
        code="unknown_marking",
    )


def marking_of(readings: Iterable[Reading]) -> Marking:
    """The most restrictive reading of several markings: the highest TLP, and every
    statement as an H3 condition (with the TLP's own condition first, if any)."""
    levels: list[Tlp] = []
    statements: list[str] = []
    for reading in readings:
        if reading.tlp is not None:
            levels.append(reading.tlp)
        if reading.statement is not None and reading.statement not in statements:
            statements.append(reading.statement)
    if not levels:
        raise InvalidMessage("markings", "no TLP level to read the handling code from")
    base = from_tlp(max(levels, key=lambda t: t.rank))
    if not statements:
        return base
    conditions = [base.conditions] if base.conditions else []
    conditions += [f"Provider's statement: {s}" for s in statements]
    return Marking(HandlingCode.H3, base.classification, "\n".join(conditions))


# --- ours to STIX ---------------------------------------------------------------------------


def tlp_definition(tlp: Tlp) -> dict[str, Any]:
    """The published TLP 2.0 marking-definition object for a label."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _TLP2_FOR[tlp],
        "created": _TLP2_CREATED,
        "name": f"TLP:{tlp.value}",
        "extensions": {
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.value.lower()}
        },
    }


def canonical_definition(marking_id: str) -> dict[str, Any] | None:
    """The published form of a TLP marking definition (1.0 or 2.0) by its id; None for any
    other id. Exports write these, whatever spelling the bundle came with: the published
    objects are the specification's, not the producer's."""
    if marking_id in TLP2_IDS:
        return tlp_definition(TLP2_IDS[marking_id])
    tlp = TLP1_IDS.get(marking_id)
    if tlp is None:
        return None
    level = _TLP1_LEVEL[tlp]
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": _TLP1_CREATED,
        "definition_type": "tlp",
        "name": f"TLP:{level.upper()}",
        "definition": {"tlp": level},
    }


def statement_definition(text: str, created: str) -> dict[str, Any]:
    """A statement marking definition; its id is derived from the text."""
    marking_id = f"marking-definition--{uuid.uuid5(_STATEMENT_NAMESPACE, text)}"
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": created,
        "definition_type": "statement",
        "definition": {"statement": text},
    }


def stix_markings_for(
    handling: HandlingCode,
    classification: Classification,
    conditions: str | None,
    created: str,
) -> list[dict[str, Any]]:
    """The marking definitions that say what our marking says: the TLP 2.0 label of
    ``to_tlp`` and, for H3 conditions TLP does not say by itself, a statement with them."""
    tlp = to_tlp(handling, classification)
    found = [tlp_definition(tlp)]
    if conditions and conditions.strip() and conditions != from_tlp(tlp).conditions:
        found.append(statement_definition(conditions, created))
    return found


# --- MISP ------------------------------------------------------------------------------------

_MISP_DISTRIBUTION = {
    0: Tlp.AMBER_STRICT,
    1: Tlp.AMBER,
    2: Tlp.AMBER,
    3: Tlp.GREEN,
    4: Tlp.AMBER_STRICT,
}
_TLP_TAGS = {
    "tlp:clear": Tlp.CLEAR,
    "tlp:white": Tlp.CLEAR,
    "tlp:green": Tlp.GREEN,
    "tlp:amber": Tlp.AMBER,
    "tlp:amber+strict": Tlp.AMBER_STRICT,
    "tlp:red": Tlp.RED,
}
#: PAP (Permissible Actions Protocol) levels below GREEN restrict what may be done with the
#: information: conditions for H3.
_PAP_CONDITIONS = {
    "pap:amber": "PAP:AMBER — passive cross-checking only; no action the source could detect",
    "pap:red": "PAP:RED — non-detectable actions only; do not use on any online resource",
}


def misp_distribution_tlp(level: Any, where: str) -> Tlp | None:
    """A MISP distribution level as a TLP level (None for 5, inherit); refuses others."""
    try:
        value = int(level)
    except (TypeError, ValueError):
        value = -1
    if value == 5:
        return None
    if value not in _MISP_DISTRIBUTION:
        raise InvalidMessage(where, f"{level!r} is not a MISP distribution level (0-5)")
    return _MISP_DISTRIBUTION[value]


def misp_tag_reading(name: str) -> Reading | None:
    """A MISP tag's marking: tlp:* as TLP, PAP:AMBER and PAP:RED as conditions; None for a
    tag that marks nothing (other taxonomies, galaxies)."""
    key = name.strip().lower()
    if key in _TLP_TAGS:
        return Reading(tlp=_TLP_TAGS[key])
    if key in _PAP_CONDITIONS:
        return Reading(statement=_PAP_CONDITIONS[key])
    if key.startswith("tlp:"):
        raise InvalidMessage(
            "Tag.name", f"{name[:100]!r} is not a TLP label", code="unknown_marking"
        )
    return None


def misp_tags_for(handling: HandlingCode, classification: Classification) -> tuple[str, int]:
    """The ``tlp:`` tag and the distribution level that say what our marking says."""
    tlp = to_tlp(handling, classification)
    distribution = {
        Tlp.CLEAR: 3,
        Tlp.GREEN: 3,
        Tlp.AMBER: 1,
        Tlp.AMBER_STRICT: 0,
        Tlp.RED: 0,
    }[tlp]
    return f"tlp:{tlp.value.lower()}", distribution
