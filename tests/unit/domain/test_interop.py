"""STIX and MISP markings to ours and back, and a message's document, checked where it is
read again (domain/interop, domain/document.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from secureline.cli.samples import draft
from secureline.domain.addresses import Address
from secureline.domain.document import MAX_DEPTH
from secureline.domain.errors import InvalidMessage
from secureline.domain.interop.markings import (
    TLP1_IDS,
    TLP2_IDS,
    Reading,
    canonical_definition,
    marking_of,
    misp_tag_reading,
    misp_tags_for,
    read_definition,
    stix_markings_for,
)
from secureline.domain.markings import TLP_RED_CONDITIONS, Tlp, from_tlp, to_tlp
from secureline.domain.message import DocumentDraft, compose, parse_content, parse_header
from secureline.domain.vocabulary import Classification, HandlingCode

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("marking_id", sorted({**TLP1_IDS, **TLP2_IDS}))
def test_every_published_tlp_definition_reads_as_its_level(marking_id: str) -> None:
    published = canonical_definition(marking_id)
    assert published is not None
    assert read_definition(published) == Reading(tlp={**TLP1_IDS, **TLP2_IDS}[marking_id])


def test_a_made_up_tlp_definition_is_refused() -> None:
    # a partner's own "TLP:CLEAR" under a new id, and a published id with another level
    own = {
        "id": "marking-definition--00000000-0000-4000-8000-000000000000",
        "definition_type": "tlp",
        "definition": {"tlp": "white"},
    }
    with pytest.raises(InvalidMessage, match=r"not one of the TLP 1\.0"):
        read_definition(own)
    red_as_clear = canonical_definition(next(iter(TLP2_IDS)))
    assert red_as_clear is not None
    red_as_clear["id"] = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"  # RED's id
    with pytest.raises(InvalidMessage, match=r"not a TLP 2\.0"):
        read_definition(red_as_clear)


def test_the_most_restrictive_marking_wins_and_statements_become_conditions() -> None:
    assert marking_of([Reading(tlp=Tlp.GREEN), Reading(tlp=Tlp.RED)]) == from_tlp(Tlp.RED)
    with_statement = marking_of([Reading(tlp=Tlp.GREEN), Reading(statement="Copyright X.")])
    assert with_statement.handling is HandlingCode.H3
    assert with_statement.conditions == "Provider's statement: Copyright X."
    red = marking_of([Reading(tlp=Tlp.RED), Reading(statement="Copyright X.")])
    assert red.conditions is not None
    assert red.conditions.startswith(TLP_RED_CONDITIONS)
    with pytest.raises(InvalidMessage):
        marking_of([Reading(statement="alone")])


@pytest.mark.parametrize("tlp", list(Tlp))
def test_ours_back_to_stix_and_misp_reads_as_the_same_tlp(tlp: Tlp) -> None:
    ours = from_tlp(tlp)
    definitions = stix_markings_for(ours.handling, ours.classification, ours.conditions, "x")
    readings = [read_definition(d) for d in definitions]
    assert marking_of(readings) == ours  # no statement added for TLP's own conditions
    tag, _ = misp_tags_for(ours.handling, ours.classification)
    assert misp_tag_reading(tag) == Reading(tlp=tlp)


def test_h3_conditions_tlp_cannot_say_go_out_as_a_statement() -> None:
    definitions = stix_markings_for(
        HandlingCode.H3, Classification.BASIC, "Only for case 42.", "2026-12-07T15:00:00.000Z"
    )
    assert [read_definition(d) for d in definitions] == [
        Reading(tlp=to_tlp(HandlingCode.H3, Classification.BASIC)),
        Reading(statement="Only for case 42."),
    ]


def _document_message(document: dict[str, Any], confidential: bool = False) -> Any:
    data = draft(random.Random(5), "ops@europol", "cyber-crime", "t", n_entities=0)
    data |= {"document": document, "confidential": confidential}
    return compose(
        DocumentDraft.model_validate(data),
        message_id="msg-00000002",
        sender=Address("cc", "interpol"),
        now=NOW,
    )


BUNDLE = {
    "format": "stix-2.1-bundle",
    "data": {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [{"type": "identity", "id": "identity--1", "name": "x"}],
    },
}


@pytest.mark.parametrize("confidential", [False, True])
def test_a_document_is_read_back_as_it_was_composed(confidential: bool) -> None:
    message = _document_message(BUNDLE, confidential)
    content = parse_content(message.content_bytes, parse_header(message.header_json), NOW.date())
    assert content.document is not None
    assert content.document.as_json() == BUNDLE
    assert b'"document"' in message.content_bytes  # covered by the digest, sealed with the rest


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("document", "field", "reason"),
    [
        ({"format": "pdf", "data": {}}, "document.format", "not a document format"),
        ({"format": "misp-event"}, "document", "format and data"),
        ({"format": "misp-event", "data": []}, "document.data", "must be an object"),
        ({"format": "misp-event", "data": _deep(MAX_DEPTH + 1)}, "document.data.x", "deeper"),
        (
            {"format": "stix-2.1-bundle", "data": {"type": "bundle", "objects": [5]}},
            "document.data.objects[0]",
            "needs a type and an id",
        ),
        ({"format": "stix-2.1-bundle", "data": {"objects": []}}, "document.data", "a bundle"),
    ],
)
def test_a_bad_document_is_refused_naming_the_field(
    document: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidMessage, match=reason) as refused:
        _document_message(document)
    assert refused.value.field.startswith(field)


def test_a_document_a_peer_spoiled_is_refused_at_the_destination() -> None:
    """The destination reads the document again (content_mismatch at the line)."""
    import orjson

    from secureline.domain.message import content_digest

    message = _document_message(BUNDLE)
    raw = orjson.loads(message.content_bytes)
    raw["document"]["data"] = _deep(MAX_DEPTH + 2)
    spoiled = orjson.dumps(raw)
    header = parse_header({**message.header_json, "content_digest": content_digest(spoiled)})
    with pytest.raises(InvalidMessage, match="deeper") as refused:
        parse_content(spoiled, header, NOW.date())
    assert refused.value.field.startswith("content.document.data")
