"""A relay that alters what it forwards, and a route that leads back on itself (issue #6).

Over the chain ncb-madrid — interpol — europol, interpol relays. To play a dishonest relay,
the test stops interpol while it holds a message for europol, rewrites the envelope in its
``deliveries`` row (its outbox), and starts it again: interpol then pushes the altered
envelope to europol exactly as it would push a genuine one.

(Delivery over three hops, a relay storing only ciphertext and a relay that is down catching
up are in test_line_delivery.py; a path that already holds the receiver is in
test_line_attacks.py.)
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select, update

from secureline.cli.federation import LinkSpec
from secureline.crypto.keys import load_signing_key
from secureline.services.line.wire import envelope_digest, sign_message_envelope
from secureline.store import tables
from tests.integration.support import (
    ADMIN,
    CHAIN,
    SPECS,
    Federation,
    officer,
    open_store,
    sample,
    set_option,
    stored_counts,
    wait_for,
    wait_state,
)

BODY = "the original report, as the origin signed it"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _payload(token: str) -> dict[str, object]:
    return dict(orjson.loads(_b64decode(token.split(".")[1])))


def _altered_content(payload: dict[str, object]) -> str:
    content = orjson.loads(str(payload["content"]))
    content["body"] = content["body"].replace("original", "altered")
    assert content["body"] != BODY
    return orjson.dumps(content).decode()


def _flip_a_character(token: str, fed: Federation) -> str:
    """One character of the signed bytes changed, in the body's text. (A change that breaks
    the header's JSON makes the envelope unreadable: it is then refused under its digest as
    ``unreadable-...``, which names no message the relay could match.)"""
    header, payload, signature = token.split(".")
    raw = _b64decode(payload)
    at = raw.index(b"original")
    flipped = raw[:at] + b"O" + raw[at + 1 :]
    return ".".join([header, _b64encode(flipped), signature])


def _swap_the_content(token: str, fed: Federation) -> str:
    """Same header, same signature, another body."""
    header, _, signature = token.split(".")
    payload = _payload(token)
    payload["content"] = _altered_content(payload)
    return ".".join([header, _b64encode(orjson.dumps(payload)), signature])


def _resign_with_the_origin_key(token: str, fed: Federation) -> str:
    """Another body under the origin's own valid signature: only the header's digest of the
    content betrays it."""
    payload = _payload(token)
    payload["content"] = _altered_content(payload)
    key = load_signing_key(fed.layout("ncb-madrid").signing_key, "ncb-madrid", None)
    return sign_message_envelope(orjson.dumps(payload), key)


def _relay_alters(fed: Federation, alter: Callable[[str, Federation], str]) -> tuple[str, str]:
    """ncb-madrid sends to europol (not running); interpol takes custody, is stopped, and its
    outbox row is rewritten with ``alter``; then europol and interpol start. Returns the
    message id and the envelope interpol will push."""
    madrid = fed["ncb-madrid"]
    sent = madrid.messaging.submit(
        officer(madrid), sample("ops@europol", "cyber-crime", seed=66, body=BODY)
    )
    wait_state(madrid, sent.id, "europol", ["relayed"])
    fed.stop("interpol")
    store = open_store(fed.dirs["interpol"])
    try:
        row, kept = tables.deliveries.c, tables.envelopes.c
        with store.read() as conn:
            original = conn.execute(
                select(kept.envelope).where(kept.message_id == sent.id)
            ).scalar_one()
        altered = alter(original, fed)
        assert altered != original
        with store.transaction() as conn:
            conn.execute(
                update(tables.envelopes).where(kept.message_id == sent.id).values(envelope=altered)
            )
            conn.execute(
                update(tables.deliveries)
                .where(row.message_id == sent.id)
                .values(state="queued", not_before=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        store.dispose()
    fed.start("europol")
    fed.start("interpol")
    return sent.id, altered


def _refused_at_europol(fed: Federation, message_id: str, token: str) -> str:
    """Wait for europol's audit record of the refusal; returns its reason code."""
    europol = fed["europol"]
    objects = [message_id, "unreadable-" + envelope_digest(token)[:16]]

    def refusal() -> str | None:
        for obj in objects:
            for record in europol.audit.records_for_object(obj):
                if record.action == "message.refused":
                    return str(record.detail.get("reason"))
        return None

    return wait_for(refusal, timeout=20, what="europol to refuse the altered envelope")


@pytest.mark.parametrize(
    ("alter", "code"),
    [
        (_flip_a_character, "bad_signature"),
        (_swap_the_content, "bad_signature"),
        (_resign_with_the_origin_key, "content_mismatch"),
    ],
    ids=["flipped-character", "swapped-content", "resigned-content"],
)
def test_content_altered_at_a_relay_is_refused_at_the_destination_and_nothing_stored(
    federation_factory: Callable[..., Federation],
    alter: Callable[[str, Federation], str],
    code: str,
) -> None:
    fed = federation_factory(CHAIN, start=("ncb-madrid", "interpol"))
    message_id, altered = _relay_alters(fed, alter)

    assert _refused_at_europol(fed, message_id, altered) == code
    europol = fed["europol"]
    assert stored_counts(europol) == {"messages": 0, "mailbox": 0, "deliveries": 0}
    assert europol.messaging.inbox(officer(europol), 0, 50) == []


def test_content_mismatch_refusal_travels_back_to_the_origin(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(CHAIN, start=("ncb-madrid", "interpol"))
    message_id, _ = _relay_alters(fed, _resign_with_the_origin_key)
    madrid = fed["ncb-madrid"]

    assert wait_state(madrid, message_id, "europol", ["refused"]) == "refused"
    (delivery,) = madrid.messaging.status(ADMIN, message_id).deliveries
    assert (delivery.refused_by, delivery.reason_code) == ("europol", "content_mismatch")
    kinds = [(e.kind, e.issuer) for e in madrid.messaging.status(ADMIN, message_id).evidence]
    assert ("refused", "europol") in kinds
    assert ("relayed", "interpol") in kinds


@pytest.mark.parametrize(
    "alter", [_flip_a_character, _swap_the_content], ids=["flipped-character", "swapped-content"]
)
def test_bad_signature_refusal_travels_back_to_the_origin(
    federation_factory: Callable[..., Federation], alter: Callable[[str, Federation], str]
) -> None:
    fed = federation_factory(CHAIN, start=("ncb-madrid", "interpol"))
    message_id, _ = _relay_alters(fed, alter)
    madrid = fed["ncb-madrid"]

    assert wait_state(madrid, message_id, "europol", ["refused"], timeout=8) == "refused"
    (delivery,) = madrid.messaging.status(ADMIN, message_id).deliveries
    assert (delivery.refused_by, delivery.reason_code) == ("europol", "bad_signature")


# --- a loop over real nodes ------------------------------------------------------------------

# ncb-madrid, interpol and europol linked in a triangle; enu-spain exists (its keys are pinned
# everywhere) but has no link. Misconfigured routes send enu-spain's traffic round the triangle:
# madrid -> interpol -> europol -> madrid.
TRIANGLE = (
    [SPECS["ncb-madrid"], SPECS["interpol"], SPECS["europol"], SPECS["enu-spain"]],
    [
        LinkSpec("ncb-madrid", "interpol"),
        LinkSpec("interpol", "europol"),
        LinkSpec("europol", "ncb-madrid"),
    ],
)
ROUTES_ROUND = {"ncb-madrid": "interpol", "interpol": "europol", "europol": "ncb-madrid"}


def test_a_routing_loop_is_refused_and_the_refusal_reaches_the_origin(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(TRIANGLE, start=())
    for node, hop in ROUTES_ROUND.items():
        set_option(fed.dirs[node], "routes", "enu-spain", f'"{hop}"')
    for node in ROUTES_ROUND:
        fed.start(node)
    madrid = fed["ncb-madrid"]

    sent = madrid.messaging.submit(officer(madrid), sample("enu@enu-spain", "cyber-crime"))

    assert wait_state(madrid, sent.id, "enu-spain", ["refused"]) == "refused"
    (delivery,) = madrid.messaging.status(ADMIN, sent.id).deliveries
    assert (delivery.refused_by, delivery.reason_code) == ("europol", "loop")
    kinds = [(e.kind, e.issuer) for e in madrid.messaging.status(ADMIN, sent.id).evidence]
    assert ("relayed", "interpol") in kinds
    assert ("refused", "europol") in kinds
    # europol refused instead of sending it back to madrid: nothing queued there
    europol = fed["europol"]
    assert stored_counts(europol)["deliveries"] == 0
    assert stored_counts(madrid)["messages"] == 1  # only its own outgoing row


def _break_the_header(token: str, fed: Federation) -> str:
    """A byte of the signed payload changed so that its JSON no longer reads."""
    header, payload, signature = token.split(".")
    raw = _b64decode(payload)
    at = raw.index(b'"header":{') + len(b'"header":{')
    return ".".join([header, _b64encode(raw[:at] + b"\x01" + raw[at + 1 :]), signature])


def test_an_envelope_the_next_hop_cannot_read_is_set_aside_at_the_relay(
    federation_factory: Callable[..., Federation],
) -> None:
    """Its refusal can name only the bytes (``unreadable-...``), not the message: the relay
    matches it by the envelope's digest and sets the delivery aside, as poison, instead of
    pushing the same bytes again and again."""
    fed = federation_factory(CHAIN, start=("ncb-madrid", "interpol"))
    message_id, _ = _relay_alters(fed, _break_the_header)
    interpol = fed["interpol"]

    def failed() -> str | None:
        with interpol.db.read() as conn:
            row = conn.execute(
                select(tables.deliveries.c.state, tables.deliveries.c.reason_code).where(
                    tables.deliveries.c.message_id == message_id
                )
            ).one()
        return row.reason_code if row.state == "failed" else None

    assert wait_for(failed, timeout=20, what="interpol to set the envelope aside") == (
        "bad_signature"
    )
    health = {h["peer"]: h for h in interpol.peering.link_health()}["europol"]
    assert health["queue_depth"] == 0
