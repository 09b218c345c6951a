"""The strategic report's rule (domain/strategic.py): no personal data, each kind of it
refused and named, and its every-unit distribution allowed to that kind alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from secureline.domain.addresses import Address
from secureline.domain.errors import DomainError, InvalidMessage
from secureline.domain.message import Message, compose, parse_draft
from secureline.domain.strategic import (
    IDENTIFIER_PROPERTIES,
    MAX_NAMED,
    StrategicReport,
    identifiers_in_text,
    personal_data_found,
    read_report,
    reason,
)
from secureline.services.matching.identifiers import CLASSES

WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
REPORT: dict[str, Any] = {
    "title": "Piracy off the Horn of Africa, third quarter",
    "summary": "Attacks fell by a third; skiffs now operate further from the coast.",
    "figures": [{"label": "attacks", "value": 42, "unit": "incidents"}],
    "tables": [
        {
            "caption": "Attacks by area",
            "columns": ["area", "attacks", "share"],
            "rows": [["Gulf of Aden", 30, 0.71], ["Somali basin", 12, 0.29]],
        }
    ],
}


def _report(report: dict[str, Any] | None = None, **draft: Any) -> Message:
    data = {
        "to": ["europol"],
        "kind": "strategic-report",
        "crime_area": "maritime-piracy",
        "subject": "Strategic report Q3",
        "handling": "H0",
        "evaluation": "B2",
        "purpose": "prevent and combat serious crime",
        "body": orjson.dumps(report or REPORT).decode(),
        **draft,
    }
    return compose(
        parse_draft(data),
        message_id="msg-00000000000000000001",
        sender=Address("cc", "interpol"),
        now=NOW,
    )


def _found(report: dict[str, Any] | None = None, **draft: Any) -> list[str]:
    message = _report(report, **draft)
    return personal_data_found(message.header, message.content)


def test_a_report_of_figures_and_tables_is_no_personal_data() -> None:
    assert read_report(_report().content.body) == StrategicReport.model_validate(REPORT)
    vessel = {
        "id": "v1",
        "schema": "Vessel",
        "properties": {
            "name": ["MV Sirius Star"],
            "imoNumber": ["IMO9074729"],
            "mmsi": ["311123000"],
        },
    }
    assert _found(entities=[vessel]) == []


@pytest.mark.parametrize(
    ("entity", "named"),
    [
        (
            {"schema": "Person", "properties": {"name": ["John Doe"]}},
            "a Person entity (entities[0])",
        ),
        ({"schema": "Passport", "properties": {"number": ["X1234567"]}}, "a Passport entity"),
        ({"schema": "Family", "properties": {}}, "a Family entity"),
        (
            {"schema": "Company", "properties": {"name": ["ACME"], "phone": ["+33612345678"]}},
            "a phone number (entities[0].properties.phone)",
        ),
        (
            {"schema": "Company", "properties": {"name": ["ACME"], "email": ["ops@acme.example"]}},
            "an e-mail address (entities[0].properties.email)",
        ),
        (
            {"schema": "Company", "properties": {"name": ["ACME"], "idNumber": ["AB123456"]}},
            "an identity number (entities[0].properties.idNumber)",
        ),
        (
            {"schema": "Company", "properties": {"name": ["ACME"], "taxNumber": ["FR123456789"]}},
            "a tax number",
        ),
        (
            {"schema": "BankAccount", "properties": {"iban": ["DE89370400440532013000"]}},
            "an IBAN (entities[0].properties.iban)",
        ),
        (
            {
                "schema": "CryptoWallet",
                "properties": {"publicKey": ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"]},
            },
            "a crypto wallet (entities[0].properties.publicKey)",
        ),
        (
            {"schema": "Email", "properties": {"subject": ["hi"], "ipMentioned": ["192.0.2.1"]}},
            "an IP address (entities[0].properties.ipMentioned)",
        ),
        (
            {"schema": "Vehicle", "properties": {"registrationNumber": ["AB-123-CD"]}},
            "a vehicle registration number",
        ),
    ],
)
def test_each_personal_entity_or_identifier_is_refused_and_named(
    entity: dict[str, Any], named: str
) -> None:
    entity = {"id": "e1", **entity}
    subjects = ["suspect"] if entity["schema"] in {"Person", "Passport", "Family"} else []
    found = _found(entities=[entity], data_subjects=subjects)
    assert any(named in f for f in found), found


def test_a_data_subject_category_is_refused_and_named() -> None:
    assert _found(data_subjects=["victim", "witness"]) == [
        "data subject categories (victim, witness)"
    ]


def test_a_header_that_declares_personal_data_is_refused() -> None:
    message = _report()
    header = message.header.model_copy(update={"personal_data": True})
    assert personal_data_found(header, message.content) == ["personal data declared in its header"]
    counted = message.header.model_copy(update={"entity_schemata": {"Person": 1}})
    assert personal_data_found(counted, message.content) == ["a Person entity (entity_schemata)"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("write to j.doe@mail.example for more", "an e-mail address"),
        ("call +44 20 7946 0958 at night", "a phone number"),
        ("paid into DE89 3704 0044 0532 0130 00 twice", "an IBAN"),
        ("the server at 203.0.113.7 hosted it", "an IP address"),
        ("the server at 2001:db8::1 hosted it", "an IP address"),
        ("sent to 0x52908400098527886E0F7030069857D2E4169EE7", "a crypto wallet"),
        ("sent to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "a crypto wallet"),
    ],
)
def test_each_identifier_written_in_the_text_is_refused_and_named(text: str, named: str) -> None:
    assert identifiers_in_text(text) == [named]
    for place, report in (
        ("summary", {**REPORT, "summary": text}),
        ("title", {**REPORT, "title": text}),
        ("figures[0].label", {**REPORT, "figures": [{"label": text, "value": 1}]}),
        (
            "tables[0].rows[1][0]",
            {**REPORT, "tables": [{"caption": "c", "columns": ["a"], "rows": [["x"], [text]]}]},
        ),
    ):
        assert _found(report) == [f"{named} in {place}"]
    assert _found(subject=text[:300]) == [f"{named} in subject"]


def test_ordinary_figures_are_not_identifiers() -> None:
    text = (
        "42 attacks in 2025 (up 12.5%), 3.2 million dollars in ransom, 1.5 nautical miles "
        "off the coast at 12:30; case ES-2026-0042; DE89 is a code, not an IBAN."
    )
    assert identifiers_in_text(text) == []
    # an IBAN-shaped code whose check digits fail is not one
    assert identifiers_in_text("ref DE00 3704 0044 0532 0130 00") == []


def test_the_reason_names_what_was_found_and_counts_the_rest() -> None:
    found = [f"finding {i}" for i in range(MAX_NAMED + 3)]
    text = reason(found)
    assert text.startswith("a strategic report carries no personal data, and this one has: ")
    assert f"finding {MAX_NAMED - 1}" in text
    assert f"finding {MAX_NAMED}" not in text
    assert text.endswith("; and 3 more")


def test_the_identifier_properties_are_the_matcher_s() -> None:
    assert set(IDENTIFIER_PROPERTIES) <= set(CLASSES)


def test_a_bare_node_is_its_every_unit_for_a_strategic_report_only() -> None:
    assert [str(a) for a in _report().header.to] == ["all-units@europol"]
    information = {
        "kind": "information",
        "crime_area": "maritime-piracy",
        "subject": "s",
        "handling": "H0",
        "evaluation": "B2",
        "purpose": "p",
    }
    with pytest.raises(DomainError, match="no '@'"):
        parse_draft({**information, "to": ["europol"]})
    with pytest.raises(InvalidMessage, match="addresses every unit of a node"):
        parse_draft({**information, "to": ["all-units@europol"]})


@pytest.mark.parametrize(
    ("report", "problem"),
    [
        ({"summary": "no title"}, "title"),
        ({**REPORT, "figures": [{"label": "x", "value": "many"}]}, "value"),
        (
            {**REPORT, "tables": [{"caption": "c", "columns": ["a", "b"], "rows": [["x"]]}]},
            r"rows\[0\]",
        ),
        ({**REPORT, "extra": 1}, "extra"),
    ],
)
def test_a_body_that_is_no_report_is_no_report(report: dict[str, Any], problem: str) -> None:
    assert read_report(orjson.dumps(report).decode()) is None
    with pytest.raises(ValueError, match=problem):
        StrategicReport.model_validate(report)
