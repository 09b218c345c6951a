"""Bounds where the bytes come in (issue 21): every header field a peer sends is checked when
the header is parsed, refused with a named code, and the later steps' limits agree with it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import pytest

from secureline.cli.samples import draft
from secureline.domain import audit, limits
from secureline.domain.addresses import Address
from secureline.domain.errors import DomainError, InvalidAgreement, InvalidMessage
from secureline.domain.message import (
    Forwarded,
    Grant,
    compose,
    content_digest,
    parse_content,
    parse_draft,
    parse_header,
)
from secureline.store import tables
from secureline.store.audit import AUDIT_CODE, AUDIT_NAME

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
ID = "msg-00000001"


def _header() -> dict[str, Any]:
    submitted = parse_draft(draft(random.Random(3), "ops@europol", "cyber-crime", "t"))
    message = compose(
        submitted,
        message_id=ID,
        sender=Address("cc", "interpol"),
        now=NOW,
        default_review_date=date(2031, 11, 29),
    )
    return dict(message.header_json)


def _grant(**changes: Any) -> dict[str, Any]:
    grant = {
        "id": "grant-0123456789abcdef01234567",
        "message_id": ID,
        "provider": "cc@interpol",
        "grantee": "europol",
        "scope": "onward-transfer",
        "purpose": None,
        "until": "2027-01-01T00:00:00+00:00",
        "signature": "x.y.z",
    }
    return grant | changes


def _forwarded(**changes: Any) -> dict[str, Any]:
    forwarded = {
        "message_id": ID,
        "provider": "cc@interpol",
        "handling": "H1",
        "purpose": "prevention and detection of crime",
        "grants": [],
    }
    return forwarded | changes


def _refused(changes: dict[str, Any]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        parse_header(_header() | changes)
    return caught.value


LONG = "a" * 10_000
# One id inside longer text: pydantic's ``pattern`` searches, so this passed before.
CONTAINS_AN_ID = "not an id but it holds msg-00000001 somewhere"


# --- the limits agree with every later step ------------------------------------------------


def test_the_audit_chain_limits_are_derived_from_the_bounds() -> None:
    assert audit.MAX_NAME_CHARS == limits.AUDIT_NAME_MAX_CHARS
    assert audit.MAX_CODE_CHARS == limits.AUDIT_CODE_MAX_CHARS
    # every id, name or address the parser lets through fits an actor or object
    longest = max(limits.ID_MAX_CHARS, limits.NAME_MAX_CHARS, limits.ADDRESS_MAX_CHARS)
    assert longest <= audit.MAX_NAME_CHARS
    assert AUDIT_NAME.length == audit.MAX_NAME_CHARS
    assert AUDIT_CODE.length == audit.MAX_CODE_CHARS


def test_the_store_columns_hold_what_the_parser_lets_through() -> None:
    assert tables.ID.length == limits.ID_MAX_CHARS
    assert tables.NAME.length == limits.NAME_MAX_CHARS
    assert tables.messages.c.sender.type.length >= limits.ADDRESS_MAX_CHARS
    assert tables.deliveries.c.reason_code.type.length >= limits.CODE_MAX_CHARS


@pytest.mark.parametrize(
    ("field", "limit", "base"),
    [
        ("id", limits.ID_MAX_CHARS, {}),
        ("reply_to", limits.ID_MAX_CHARS, {}),
        ("subject", limits.SUBJECT_MAX_CHARS, {}),
        ("case_ref", limits.CASE_REF_MAX_CHARS, {}),
        ("purpose", limits.PURPOSE_MAX_CHARS, {}),
        ("handling_conditions", limits.HANDLING_CONDITIONS_MAX_CHARS, {"handling": "H3"}),
    ],
)
def test_the_header_takes_exactly_its_limits(field: str, limit: int, base: dict[str, Any]) -> None:
    assert parse_header(_header() | base | {field: "a" * limit})
    error = _refused(base | {field: "a" * (limit + 1)})
    assert (error.field, error.code) == (field, "field_too_long")


def test_grant_and_forwarded_ids_take_exactly_their_limits() -> None:
    at_limit = "a" * limits.ID_MAX_CHARS
    assert parse_header(_header() | {"forwarded": _forwarded(message_id=at_limit)})
    assert Grant.model_validate(_grant(id=at_limit, message_id=at_limit))
    assert not hasattr(Forwarded, "nothing")  # both models are the ones the header uses


# --- each bounded field of the header -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", LONG),
        ("reply_to", LONG),
        ("subject", LONG),
        ("purpose", LONG),
        ("case_ref", LONG),
        ("sender", LONG + "@interpol"),
        ("to", ["ops@" + LONG]),
        ("content_digest", LONG),
        ("entity_schemata", {LONG: 1}),
        ("data_subjects", ["suspect"] * 10_000),
    ],
)
def test_a_field_too_long_is_refused_with_its_code(field: str, value: Any) -> None:
    error = _refused({field: value})
    assert error.code == "field_too_long"
    assert error.field.startswith(field)
    assert len(str(error)) < 1000  # the refusal does not quote the whole value


@pytest.mark.parametrize("field", ["id", "reply_to"])
def test_an_id_that_only_contains_an_id_is_refused(field: str) -> None:
    error = _refused({field: CONTAINS_AN_ID})
    assert error.field == field
    assert "pattern" in error.reason


def test_forwarded_and_grant_ids_are_matched_whole() -> None:
    error = _refused({"forwarded": _forwarded(message_id=CONTAINS_AN_ID)})
    assert error.field == "forwarded.message_id"
    error = _refused({"forwarded": _forwarded(grants=[_grant(id=CONTAINS_AN_ID)])})
    assert error.field == "forwarded.grants.0.id"
    error = _refused({"forwarded": _forwarded(grants=[_grant(message_id=LONG)])})
    assert (error.field, error.code) == ("forwarded.grants.0.message_id", "field_too_long")


def test_a_time_without_a_zone_is_refused() -> None:
    error = _refused({"created_at": "2026-11-29T09:30:00"})
    assert (error.field, error.code) == ("created_at", "time_without_zone")
    error = _refused({"forwarded": _forwarded(grants=[_grant(until="2027-01-01T00:00:00")])})
    assert (error.field, error.code) == ("forwarded.grants.0.until", "time_without_zone")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "a subject\x00with NUL"),
        ("subject", "two\nlines"),
        ("purpose", "prevention\x1b[31m"),
        ("case_ref", "case\x85ref"),
    ],
)
def test_control_characters_in_one_line_text_are_refused(field: str, value: str) -> None:
    error = _refused({field: value})
    assert (error.field, error.code) == (field, "bad_characters")


def test_handling_conditions_may_span_lines_but_hold_no_nul() -> None:
    base = {"handling": "H3"}
    assert parse_header(_header() | base | {"handling_conditions": "one\nand two\t"})
    error = _refused(base | {"handling_conditions": "one\x00"})
    assert (error.field, error.code) == ("handling_conditions", "bad_characters")


def test_text_with_non_ascii_letters_and_blanks_is_kept() -> None:
    header = parse_header(_header() | {"subject": "Ñandú\u00a0en Málaga — 東京"})
    assert header.subject == "Ñandú\u00a0en Málaga — 東京"


# --- content shapes -----------------------------------------------------------------------


@pytest.mark.parametrize("attachments", [5, "text", {"a": 1}, True, None])
def test_attachments_that_are_not_a_list_are_refused(attachments: object) -> None:
    content = (
        b'{"body":"x","entities":[],"attachments":' + repr(attachments).encode().lower() + b"}"
    )
    content = content.replace(b"'", b'"').replace(b"none", b"null")
    header = parse_header(_header() | {"content_digest": content_digest(content)})
    with pytest.raises(InvalidMessage, match=r"content\.attachments"):
        parse_content(content, header, NOW.date())


def test_an_agreement_nested_too_deep_is_an_agreement_error() -> None:
    from secureline.domain.agreement import parse_agreement

    with pytest.raises(InvalidAgreement, match="nested too deeply"):
        parse_agreement("[agreement]\nid = " + "[" * 1200 + "]" * 1200 + "\n")


def test_control_character_finds_only_what_is_refused() -> None:
    assert limits.control_character("plain text") is None
    assert limits.control_character("a\u00a0b") is None
    assert limits.control_character("a\tb") == "\t"
    assert limits.control_character("a\tb\nc\r", multiline=True) is None
    assert limits.control_character("a\x7fb", multiline=True) == "\x7f"
