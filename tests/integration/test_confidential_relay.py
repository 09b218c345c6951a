"""Confidential means confidential past relays (issue #13, section 1 item 5).

A confidential message's body, entities, attachments, subject, case reference and H3
conditions are sealed to the destination. The test searches everything the relay keeps
(every column of every table, and the decoded payload of every signed token it stores) and
everything any node logged, for each of those values.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select

from secureline.crypto.encoding import b64url_decode
from secureline.domain.addresses import Address
from secureline.domain.errors import DomainError
from secureline.domain.message import SEALED, compose, parse_content, parse_draft
from secureline.node.compose import Node
from secureline.store.tables import metadata
from tests.integration.support import Federation, officer, sample, wait_state

SECRETS = {
    "subject": "Operation NIGHTJAR: the courier's route",
    "case_ref": "CASE-NIGHTJAR-42",
    "handling_conditions": "Only for the NIGHTJAR team; ask before any arrest",
    "body": "The courier changes cars at the border crossing",
}
REASON = "NIGHTJAR closed by the prosecutor"


def _everything_stored(node: Node) -> str:
    """Every value in the node's store, with signed tokens' payloads decoded."""
    parts: list[str] = []
    with node.db.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    text = str(value)
                    parts.append(text)
                    for token in text.replace('"', " ").split():
                        pieces = token.split(".")
                        if len(pieces) in (3, 5):  # JWS or JWE compact: decode what decodes
                            for piece in pieces:
                                with contextlib.suppress(ValueError):
                                    parts.append(b64url_decode(piece).decode("utf-8", "replace"))
    return "\n".join(parts)


def test_a_relay_keeps_and_logs_none_of_a_confidential_messages_fields(
    chain: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    madrid, interpol, europol = chain["ncb-madrid"], chain["interpol"], chain["europol"]
    draft = {
        **sample("ops@europol", "counter-terrorism", seed=51, confidential=True, handling="H3"),
        **SECRETS,
    }
    sent = madrid.messaging.submit(officer(madrid), draft)
    wait_state(madrid, sent.id, "europol", ["delivered"])
    entity_names = [n for e in draft["entities"] for n in e["properties"].get("name", [])]
    assert entity_names

    # the destination and the origin show the message as written
    opened = europol.messaging.open(officer(europol), sent.id, acknowledge_conditions=True)
    for field in ("subject", "case_ref", "handling_conditions"):
        assert getattr(opened.header, field) == SECRETS[field]
    assert opened.content is not None
    assert opened.content["body"] == SECRETS["body"]
    assert madrid.messaging.status(officer(madrid), sent.id).header.subject == SECRETS["subject"]

    # the provider retracts it, with a reason: that travels sealed too
    deletion = madrid.sharing.retract(officer(madrid), sent.id, REASON)
    wait_state(madrid, deletion.id, "europol", ["delivered"])

    at_relay = _everything_stored(interpol)
    assert sent.id in at_relay  # the search does see what the relay keeps
    assert f'"subject":"{SEALED}"' in at_relay  # and the decoded signed header
    for value in [*SECRETS.values(), REASON, *entity_names]:
        assert value not in at_relay, value
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for value in [*SECRETS.values(), REASON, *entity_names]:
        assert value not in logged, value


def test_the_destination_refuses_a_confidential_message_without_its_sealed_fields() -> None:
    """parse_content: a confidential header needs the sealed part."""
    now = datetime.now(UTC)
    secret = compose(
        parse_draft(sample("ops@europol", confidential=True)),
        message_id="msg-00000001",
        sender=Address.parse("cc@interpol"),
        now=now,
        default_review_date=now.date(),
    )
    header = secret.header
    content = orjson.loads(secret.content_bytes)
    assert content["sealed"]["subject"] == header.subject
    del content["sealed"]
    bare = orjson.dumps(content)
    forged = header.model_copy(
        update={"content_digest": __import__("hashlib").sha256(bare).hexdigest()}
    )
    with pytest.raises(DomainError, match="seals its subject"):
        parse_content(bare, forged, now.date())
