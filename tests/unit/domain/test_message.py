"""Composing a message: the header built without re-validation equals a validated one."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from secureline.cli.samples import draft
from secureline.domain.addresses import Address
from secureline.domain.errors import InvalidMessage
from secureline.domain.message import Header, compose, parse_content, parse_draft, parse_header

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["information", "request"])
def test_a_composed_header_is_what_validation_would_make(kind: str) -> None:
    submitted = parse_draft(draft(random.Random(3), "ops@europol", "cyber-crime", "t", kind=kind))
    message = compose(
        submitted,
        message_id="msg-00000001",
        sender=Address("cc", "interpol"),
        now=NOW,
        default_review_date=date(2031, 11, 29),
    )
    validated = Header.model_validate(message.header.model_dump())
    assert message.header == validated
    assert message.header.model_dump(mode="json") == validated.model_dump(mode="json")
    assert message.header_json == validated.model_dump(mode="json")
    # and the destination reads back exactly what the origin declared
    parsed = parse_header(message.header_json)
    assert parsed == message.header
    assert parse_content(message.content_bytes, parsed, NOW.date()) == message.content


def test_a_message_id_out_of_shape_is_refused() -> None:
    submitted = parse_draft(draft(random.Random(3), "ops@europol", "cyber-crime", "t"))
    with pytest.raises(InvalidMessage, match="not a message id"):
        compose(submitted, message_id="X", sender=Address("cc", "interpol"), now=NOW)
