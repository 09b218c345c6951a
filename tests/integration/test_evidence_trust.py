"""Evidence is believed only from the node it concerns, and never breaks the node that takes it
in (issue 13 §1.2, issue 21's evidence findings).

Over real lines: a node that is not on a message's route signs ``refused``, ``delivered`` or
``read`` about it with its own genuine key and pushes it over its own genuine link (a hand-made
client with its real TLS identity, so the answer is read synchronously); the origin's (or the
relay's) delivery does not change, the refusal is audited with its code, and the forged document
travels no further. A peer's evidence that does not fit the wire model is skipped with a named
code while the rest of its transaction is taken in.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from secureline.cli.samples import draft
from secureline.crypto.envelope import sign_envelope
from secureline.domain.audit import AuditAction, AuditEvent, checkpoint_payload
from secureline.node.compose import Node
from secureline.services.audit import CHECKPOINT_TYP
from secureline.services.line import custody
from secureline.services.line.directory import Peer
from secureline.services.line.outbox import LinkSender
from secureline.services.line.transport import PushAnswer
from secureline.services.line.wire import (
    EVIDENCE_TYPE,
    EvidenceItem,
    EvidenceKind,
    envelope_digest,
    sign_evidence,
)
from secureline.services.roles import Principal, Role
from secureline.store import tables
from secureline.store.audit import audit_records
from secureline.store.line import deliveries as delivery_store
from tests.integration.support import (
    PAIR,
    STAR,
    Federation,
    delivery_state,
    evidence_kinds,
    identity_context,
    officer,
    put,
    sample,
    wait_for,
    wait_state,
)

_TXN = iter(range(10**6))


def _push(fed: Federation, sender: str, receiver: str, evidence: list[Any]) -> httpx.Response:
    """``sender`` pushes a transaction of evidence to ``receiver`` over their real link."""
    layout = fed.layout(sender)
    context = identity_context(
        fed.layout(receiver).ca_certificate.read_bytes(), layout.tls_certificate, layout.tls_key
    )
    digest = fed[receiver].directory.agreement_digest(sender)
    txn = f"t-trust-{next(_TXN):06d}"
    body = orjson.dumps({"v": 1, "envelopes": [], "evidence": evidence})
    return put(context, fed[receiver], txn, body, digest)


def _sent_digest(node: Node, message_id: str, destination: str) -> str:
    """The digest of the envelope ``node`` sent (as if it had leaked to the forger)."""
    with node.db.read() as conn:
        token = delivery_store.envelopes_for(conn, [message_id])[(message_id, destination)]
    return envelope_digest(token)


def _forge(
    fed: Federation, issuer: str, origin: str, destination: str, message_id: str, kind: str
) -> str:
    """A document about another node's delivery, signed with the forger's own real key."""
    item = EvidenceItem(
        message_id,
        origin,
        destination,
        EvidenceKind(kind),
        _sent_digest(fed[origin], message_id, destination),
        "forged" if kind == "refused" else None,
        "signed by a node that is not on the route" if kind == "refused" else None,
    )
    return sign_evidence(
        f"ev-forged-{kind}-{next(_TXN)}",
        issuer,
        datetime.now(UTC),
        [item],
        None,
        fed[issuer].identity.signing,
    )


def _evidence_refusals(node: Node, message_id: str) -> list[tuple[str, str]]:
    """(issuer, code) of each evidence item about ``message_id`` that ``node`` refused."""
    return [
        (r.actor, r.detail["reason"])
        for r in node.audit.records_for_object(message_id)
        if r.action == AuditAction.POLICY_DECISION.value and r.outcome == "evidence_refused"
    ]


def _taken(response: httpx.Response) -> tuple[int, list[str]]:
    assert response.status_code == 200, response.text
    data = response.json()
    return int(data["evidence_taken"]), list(data["evidence_rejected"])


# --- a node off the route ---------------------------------------------------------------


@pytest.fixture
def star(federation_factory: Callable[..., Federation]) -> Federation:
    """interpol in the middle, linked to europol, ncb-madrid and enu-spain; all running."""
    return federation_factory(STAR)


@pytest.mark.parametrize("kind", ["refused", "delivered", "read"])
def test_an_off_route_node_cannot_change_a_delivered_message(star: Federation, kind: str) -> None:
    interpol = star["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol"))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    before = evidence_kinds(interpol, sent.id)

    forged = _forge(star, "ncb-madrid", "interpol", "europol", sent.id, kind)
    assert _taken(_push(star, "ncb-madrid", "interpol", [forged])) == (1, [])

    assert delivery_state(interpol, sent.id, "europol") == "delivered"
    assert evidence_kinds(interpol, sent.id) == before  # no trail row from ncb-madrid
    assert _evidence_refusals(interpol, sent.id) == [("ncb-madrid", "evidence_wrong_issuer")]


def test_an_off_route_refusal_of_a_message_not_yet_delivered_changes_nothing(
    star: Federation,
) -> None:
    interpol = star["interpol"]
    star.stop("europol")
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=3))
    assert delivery_state(interpol, sent.id, "europol") in ("queued", "sent")

    forged = _forge(star, "ncb-madrid", "interpol", "europol", sent.id, "refused")
    _taken(_push(star, "ncb-madrid", "interpol", [forged]))

    assert delivery_state(interpol, sent.id, "europol") in ("queued", "sent")
    assert _evidence_refusals(interpol, sent.id) == [("ncb-madrid", "evidence_wrong_issuer")]
    star.start("europol")
    assert wait_state(interpol, sent.id, "europol", ["delivered", "refused"]) == "delivered"


def test_a_relay_takes_no_refusal_from_a_node_off_the_route_nor_passes_it_on(
    star: Federation,
) -> None:
    """ncb-madrid -> interpol -> europol; enu-spain, linked to interpol, is off the route."""
    madrid, interpol = star["ncb-madrid"], star["interpol"]
    star.stop("europol")  # the message waits at the relay
    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", seed=4))
    wait_state(madrid, sent.id, "europol", ["relayed"])

    forged = _forge(star, "enu-spain", "interpol", "europol", sent.id, "refused")
    _taken(_push(star, "enu-spain", "interpol", [forged]))

    with interpol.db.read() as conn:  # the relay's own delivery
        relaying = delivery_store.current_states(conn, [sent.id])[(sent.id, "europol")]
    assert relaying in ("queued", "sent")
    assert _evidence_refusals(interpol, sent.id) == [("enu-spain", "evidence_wrong_issuer")]
    with interpol.db.read() as conn:  # not queued towards the origin
        queued = conn.execute(select(tables.evidence_outbox.c.token)).scalars().all()
    assert forged not in queued
    star.start("europol")
    assert wait_state(madrid, sent.id, "europol", ["delivered", "refused"]) == "delivered"
    assert ("refused", "enu-spain") not in evidence_kinds(madrid, sent.id)


def test_a_refusal_from_beyond_the_next_hop_counts_only_back_over_the_next_hop_link(
    star: Federation,
) -> None:
    """At the origin, a node beyond its next hop (here enu-spain, as madrid sees it) is believed
    only when its document came over the link to that next hop (``via``, as the inbox and the
    sender name the peer that carried it)."""
    madrid = star["ncb-madrid"]
    star.stop("europol")
    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", seed=10))
    wait_state(madrid, sent.id, "europol", ["relayed"])
    forged = _forge(star, "enu-spain", "ncb-madrid", "europol", sent.id, "refused")
    (document,) = custody.check([forged], madrid.directory).documents

    def take(via: str | None) -> list[AuditEvent]:
        with madrid.db.transaction() as conn:
            events = custody.apply(
                conn,
                "ncb-madrid",
                madrid.directory,
                [document],
                datetime.now(UTC),
                audit_log=madrid.audit,
                via=via,
            )
            madrid.audit.record(conn, events)
        return events

    (refusal,) = take(via="enu-spain")
    assert (refusal.actor, (refusal.detail or {})["reason"]) == (
        "enu-spain",
        "evidence_wrong_issuer",
    )
    assert delivery_state(madrid, sent.id, "europol") == "relayed"
    take(via="interpol")  # what interpol forwards, it has checked for its own delivery
    assert delivery_state(madrid, sent.id, "europol") == "refused"


def test_the_destination_cannot_refuse_what_it_delivered(pair: Federation) -> None:
    """A delivery moves only forward: delivered never becomes refused (protocol.md §7)."""
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=5))
    wait_state(interpol, sent.id, "europol", ["delivered"])

    late = _forge(pair, "europol", "interpol", "europol", sent.id, "refused")
    _taken(_push(pair, "europol", "interpol", [late]))

    assert delivery_state(interpol, sent.id, "europol") == "delivered"
    assert _evidence_refusals(interpol, sent.id) == [("europol", "evidence_conflicts_with_state")]
    # ...while the destination's read receipt still moves it on.
    read = _forge(pair, "europol", "interpol", "europol", sent.id, "read")
    _taken(_push(pair, "europol", "interpol", [read]))
    assert delivery_state(interpol, sent.id, "europol") == "read"


# --- documents that do not fit: skipped with a code, the rest taken in --------------------


def _document(europol: Node, **changes: Any) -> str:
    """A document signed by europol's real key, with ``changes`` made to its payload (an
    ``item_*`` key changes the one item)."""
    payload: dict[str, Any] = {
        "v": 1,
        "id": f"ev-shape-{next(_TXN)}",
        "issuer": "europol",
        "issued_at": datetime.now(UTC).isoformat(),
        "checkpoint": None,
        "items": [
            {
                "message_id": "msg-0123456789abcdef01234567",
                "origin": "interpol",
                "destination": "europol",
                "kind": "refused",
                "envelope_sha256": "0" * 64,
                "reason_code": "shape",
                "reason_text": "a shape test",
            }
        ],
    }
    for key, value in changes.items():
        if key.startswith("item_"):
            payload["items"][0][key.removeprefix("item_")] = value
        else:
            payload[key] = value
    return sign_envelope(orjson.dumps(payload), europol.identity.signing, typ=EVIDENCE_TYPE)


BAD_SHAPES: list[tuple[str, dict[str, Any], str]] = [
    ("checkpoint a number", {"checkpoint": 5}, "malformed_evidence"),
    ("checkpoint a list", {"checkpoint": [1]}, "malformed_evidence"),
    ("checkpoint an object", {"checkpoint": {"seq": 1}}, "malformed_evidence"),
    ("checkpoint 10,000 characters", {"checkpoint": "a." * 5000}, "field_too_long"),
    ("id of 10,000 characters", {"id": "e" * 10_000}, "field_too_long"),
    ("id with a NUL", {"id": "ev-\x00-nul"}, "invalid_field"),
    ("issued_at without a zone", {"issued_at": "2026-01-01T00:00:00"}, "invalid_field"),
    ("items not a list", {"items": 5}, "malformed_evidence"),
    ("message id of 10,000", {"item_message_id": "m" * 10_000}, "field_too_long"),
    ("reason code with a NUL", {"item_reason_code": "a\x00b"}, "invalid_field"),
    ("reason text with a NUL", {"item_reason_text": "a\x00b"}, "invalid_field"),
    ("reason text of 10,000", {"item_reason_text": "t" * 10_000}, "field_too_long"),
    ("destination of 10,000", {"item_destination": "d" * 10_000}, "field_too_long"),
    ("unknown kind", {"item_kind": "lost"}, "invalid_field"),
    ("digest not hex", {"item_envelope_sha256": "z" * 64}, "invalid_field"),
]


def test_bad_evidence_documents_are_skipped_and_the_rest_of_the_batch_is_taken(
    pair: Federation,
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=6))
    wait_state(interpol, sent.id, "europol", ["delivered"])

    for what, changes, code in BAD_SHAPES:
        good = _forge(pair, "europol", "interpol", "europol", sent.id, "read")
        taken, rejected = _taken(
            _push(pair, "europol", "interpol", [_document(europol, **changes), good])
        )
        assert taken == 1, what
        assert [r.split(":")[0] for r in rejected] == [code], what
        assert all(len(r) < 300 and "\x00" not in r for r in rejected), what

    assert delivery_state(interpol, sent.id, "europol") == "read"
    # Each skipped document is in the receiver's audit chain, with its code.
    with interpol.db.read() as conn:
        reasons = conn.execute(
            select(audit_records.c.detail_json).where(
                audit_records.c.outcome == "evidence_refused",
                audit_records.c.object.like("evidence-%"),
            )
        ).scalars()
        codes = [orjson.loads(d)["reason"] for d in reasons]
    assert codes == [code for _, _, code in BAD_SHAPES]
    # The link still moves.
    again = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=7))
    wait_state(interpol, again.id, "europol", ["delivered"])


def test_a_signed_checkpoint_beyond_the_store_range_is_refused_and_its_evidence_taken(
    pair: Federation,
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=8))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    checkpoint = sign_envelope(
        checkpoint_payload("europol", 2**63, "a" * 64, datetime.now(UTC)),
        europol.identity.signing,
        CHECKPOINT_TYP,
    )
    item = EvidenceItem(
        sent.id,
        "interpol",
        "europol",
        EvidenceKind.READ,
        _sent_digest(interpol, sent.id, "europol"),
    )
    document = sign_evidence(
        "ev-huge-seq", "europol", datetime.now(UTC), [item], checkpoint, europol.identity.signing
    )

    assert _taken(_push(pair, "europol", "interpol", [document])) == (1, [])

    assert delivery_state(interpol, sent.id, "europol") == "read"
    kept = [c.seq for c in interpol.audit.partner_checkpoints("europol")]
    assert 2**63 not in kept
    (refusal,) = [
        r
        for r in interpol.audit.records()
        if r.action == AuditAction.PARTNER_CHECKPOINT.value
        and r.detail["evidence"] == "ev-huge-seq"
    ]
    assert (refusal.outcome, refusal.detail["reason"]) == ("refused", "checkpoint_out_of_range")


# --- the sender's side: a peer's answer that does not fit -------------------------------


class AnswersJunkEvidenceOnce:
    """Delivers for real, but the first answer's evidence list holds a number."""

    def __init__(self, destination: Node) -> None:
        self.destination = destination
        self.pushes = 0

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        self.pushes += 1
        answer = self.destination.inbox.receive("interpol", txn_id, body, agreement_digest)
        if self.pushes == 1:
            answer = orjson.dumps({"v": 1, "txn_id": txn_id, "evidence": [5]})
        return PushAnswer(200, answer, None, agreement_digest)

    def close(self) -> None:
        pass


def test_a_peer_answer_with_evidence_that_is_not_a_document_is_retried(
    federation_factory: Callable[..., Federation], caplog: pytest.LogCaptureFixture
) -> None:
    fed = federation_factory(PAIR, start=())
    origin, destination = fed.construct("interpol"), fed.construct("europol")
    system = Principal("national-system", "national-system", "cc", Role.SYSTEM)
    sent = origin.messaging.submit(
        system, draft(random.Random(9), "ops@europol", "cyber-crime", "junk")
    )
    sender = LinkSender(
        "interpol",
        "europol",
        origin.db,
        origin.directory,
        AnswersJunkEvidenceOnce(destination),
        origin.audit,
        origin.settings,
        lambda: datetime.now(UTC),
    )
    assert sender.send_once() is False  # a transport-level failure, not an exception
    assert delivery_state(origin, sent.id, "europol") == "queued"
    assert [r for r in caplog.records if r.exc_info] == []  # no traceback
    with origin.db.transaction() as conn:  # due now rather than after the backoff
        conn.execute(tables.deliveries.update().values(not_before=datetime(2000, 1, 1, tzinfo=UTC)))
    wait_for(lambda: sender.send_once() or None, 5, what="the retry")
    assert delivery_state(origin, sent.id, "europol") == "delivered"
