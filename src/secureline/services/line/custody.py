"""Taking in evidence from the line: record what concerns our messages, pass the rest on.

Used by both directions of the line: evidence comes back in the answer to our own
transactions, and in transactions that peers push to us (read acknowledgements, and
evidence travelling back over several hops).

Every document is verified and typed by :func:`evidence_model.parse_evidence` first; one that
does not fit is skipped with a named code (``Intake.rejected``, ``Intake.events``) and the
rest of the batch is taken in.

Who is believed (docs/protocol.md §6): an item about one of our deliveries (message,
destination; leaving on next hop ``H``) counts only from the node it concerns:

- ``delivered`` and ``read``: from the destination only;
- ``refused``: from the destination, or from a relay on the way: ``H`` itself, or a node
  beyond ``H`` whose document came back over the link to ``H`` (``via``: beyond ``H`` the
  route is not ours to know, but every relay applies this same rule to its own delivery, so
  a document from a node off the route is refused by the first relay that holds the
  delivery and travels no further). When the caller does not name ``via``, a node beyond
  ``H`` is believed only once ``H`` has reported taking custody;
- ``relayed``: from such a relay (never from the destination, nor when ``H`` is the
  destination: then there is no relay).

An item from any other node is refused (``evidence_wrong_issuer``); an item that does not move
the delivery along :data:`evidence.TRANSITIONS` and is not merely late is refused
(``evidence_conflicts_with_state``: ``refused`` after ``delivered``, say). Each refusal is an
audit record (``policy.decision``, outcome ``evidence_refused``, the code in its detail) and
changes nothing; the document's other items are still taken, and a document with a refused
item is not forwarded.

Cross-anchoring: an evidence document carries its issuer's latest audit checkpoint.
:func:`apply` keeps it (:meth:`AuditLog.store_partner_checkpoint`, in the same transaction
as the evidence, once per distinct checkpoint). A checkpoint that does not verify (or does
not fit the store) is logged and recorded as a refused ``audit.partner_checkpoint`` event;
the evidence it came with is still taken in, since its own signature was checked on its own.

Audit actions, per (message, destination) of our own deliveries: the first evidence that
the next hop took custody (``relayed`` or ``delivered``) is ``message.sent`` (actor: the
issuer); a later ``delivered`` after ``relayed`` moves the delivery on but is not a second
send (it is the relay's and the destination's records); ``read`` is ``message.read``
(actor: the reporting node) and ``refused`` is ``message.refused`` with the reason code.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from secureline.crypto.errors import CryptoError
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.audit import AuditError, AuditLog
from secureline.services.line.directory import Directory
from secureline.services.line.evidence import STATE_ORDER, Move, as_rows, move
from secureline.services.line.evidence_model import parse_evidence
from secureline.services.line.wire import (
    EvidenceDocument,
    EvidenceItem,
    EvidenceKind,
    WireError,
    envelope_digest,
)
from secureline.store import bulk
from secureline.store.line import deliveries as delivery_store
from secureline.store.line import evidence as evidence_store

log = logging.getLogger(__name__)
#: States after which a delivery already has its ``message.sent`` record.
_IN_CUSTODY = STATE_ORDER["relayed"]
#: The audit action for each kind of evidence; the others (relayed, delivered) are a send.
_ACTIONS = {
    EvidenceKind.REFUSED: AuditAction.MESSAGE_REFUSED,
    EvidenceKind.READ: AuditAction.MESSAGE_READ,
}
#: Codes of an item refused by :func:`apply` (docs/protocol.md §6).
WRONG_ISSUER = "evidence_wrong_issuer"
CONFLICTS = "evidence_conflicts_with_state"
#: The outcome of the audit record of refused evidence.
EVIDENCE_REFUSED = "evidence_refused"
_ARRIVED = frozenset({EvidenceKind.DELIVERED, EvidenceKind.READ})


@dataclass
class Intake:
    """Evidence documents checked and sorted, ready to be written in one transaction.

    ``rejected``: one line per document refused (code and field, never the value: it goes
    into the answer and the log). ``events``: the audit record of each, for the caller to
    write with the transaction."""

    documents: list[EvidenceDocument] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)


def check(tokens: Sequence[object], directory: Directory) -> Intake:
    """Verify and type each document; a bad one is skipped and recorded, never raised."""
    intake = Intake()
    for token in tokens:
        try:
            intake.documents.append(parse_evidence(token, directory.verify_keys))
        except (CryptoError, WireError) as exc:
            # Crypto messages may quote a header member: bounded, as they reach the answer.
            intake.rejected.append(f"{exc.code}: {str(exc)[:300]}")
            intake.events.append(
                AuditEvent(
                    directory.node,
                    AuditAction.POLICY_DECISION,
                    _token_name(token),
                    EVIDENCE_REFUSED,
                    {"reason": exc.code, "text": str(exc)[:500]},
                )
            )
    return intake


def _token_name(token: object) -> str:
    """The audit object for a document that could not be read: the digest of its bytes."""
    data = token.encode("utf-8", "replace") if isinstance(token, str) else repr(token).encode()
    return "evidence-" + hashlib.sha256(data).hexdigest()[:32]


@dataclass(frozen=True)
class Delivery:
    state: str
    next_hop: str


def _deliveries(conn: Connection, message_ids: Sequence[str]) -> dict[tuple[str, str], Delivery]:
    """The state and next hop of each of our deliveries of these messages, locked in key order
    as :func:`delivery_store.current_states` locks them (the caller moves them on)."""
    rows = bulk.select_in(
        conn,
        "deliveries",
        ("message_id", "destination", "state", "next_hop"),
        "message_id",
        message_ids,
        lock_order=("message_id", "destination"),
    )
    return {(m, d): Delivery(state, hop) for m, d, state, hop in rows}


#: States in which the next hop has reported taking custody: only then can any node beyond
#: it have seen the envelope.
_BEYOND_NEXT_HOP = frozenset({"relayed", "delivered", "read", "refused"})


def concerns(
    issuer: str,
    item: EvidenceItem,
    delivery: Delivery,
    directory: Directory,
    via: str | None = None,
) -> bool:
    """Whether ``issuer`` is a node the item may come from, for ``delivery`` (one of ours)
    that left on its next hop (see the module docstring). ``via``: the peer whose
    transaction carried the document, when the caller knows it."""
    hop = delivery.next_hop
    if issuer == item.destination:
        return item.kind is not EvidenceKind.RELAYED
    if item.kind in _ARRIVED or hop == item.destination or issuer == directory.node:
        return False  # no relay stands between us and a direct destination
    if issuer == hop:
        return True
    # A relay beyond our next hop: its documents travel back through our next hop, which
    # takes in (and forwards) only what this same rule lets through for its own delivery.
    if via is not None:
        return via == hop
    # The caller did not say where the document came from: at least the next hop must have
    # taken custody, or nothing beyond it can have seen the envelope.
    return delivery.state in _BEYOND_NEXT_HOP


def apply(
    conn: Connection,
    node: str,
    directory: Directory,
    documents: Sequence[EvidenceDocument],
    now: datetime,
    *,
    audit_log: AuditLog,
    sent_digests: dict[tuple[str, str], str] | None = None,
    via: str | None = None,
) -> list[AuditEvent]:
    """Write evidence about our deliveries, keep the issuers' checkpoints, and queue
    evidence meant for other origins. Returns the audit events for the caller to record.

    An item counts for one of our deliveries only when its issuer is the node it concerns
    (:func:`concerns`) and it moves the delivery along :data:`evidence.TRANSITIONS`; other
    items are refused and audited (a late one is history only, see :func:`evidence.move`).

    An item that the envelope arrived (relayed, delivered, read) counts for one of our
    deliveries only when it names the envelope we sent (its SHA-256): it is proof that those
    bytes arrived, not just a message id. A refusal counts whatever envelope it names: one that
    differs from ours was changed on the way, and the refusal is how the origin learns it. The
    caller that just sent the envelopes passes their digests; otherwise they are read here.
    ``via``: the peer whose transaction (or answer) carried the documents.

    The deliveries' states are read here, locked, even by the sender that just marked them
    ``sent``: evidence pushed to us meanwhile may have moved them on, and evidence never
    moves a delivery back (nor records its send twice)."""
    audit = keep_checkpoints(conn, directory, documents, audit_log)
    ids = [i.message_id for d in documents for i in d.items]
    held = _deliveries(conn, ids)
    states = {key: d.state for key, d in held.items()}
    digests = sent_digests
    if digests is None:
        sent = delivery_store.envelopes_for(conn, ids)
        # A purged envelope is blank: its evidence can only be matched by id.
        digests = {key: envelope_digest(token) for key, token in sent.items() if token}
    outcomes: list[delivery_store.Outcome] = []
    forward: dict[str, list[str]] = {}
    for document in documents:
        ours: list[EvidenceItem] = []
        refused_here = False
        for item in document.items:
            if not _names_our_envelope(item, document, states, digests):
                continue
            key = (item.message_id, item.destination)
            kind = item.kind.value
            before_state = states[key]
            delivery = Delivery(before_state, held[key].next_hop)
            step, code = _judge(document.issuer, item, delivery, directory, via)
            if code is not None:
                refused_here = True
                audit.append(_refusal(document, item, before_state, code))
                continue
            ours.append(item)
            if step is not Move.FORWARD:
                continue  # late: history only
            states[key] = kind
            outcomes.append(
                delivery_store.Outcome(
                    item.message_id,
                    item.destination,
                    kind,
                    item.reason_code,
                    item.reason_text,
                    document.issuer if item.kind is EvidenceKind.REFUSED else None,
                )
            )
            action = _ACTIONS.get(item.kind, AuditAction.MESSAGE_SENT)
            if (
                action is AuditAction.MESSAGE_SENT
                and STATE_ORDER.get(before_state, 0) >= _IN_CUSTODY
            ):
                continue  # delivered after relayed: the send was recorded at `relayed`
            audit.append(
                AuditEvent(
                    document.issuer,
                    action,
                    item.message_id,
                    kind,
                    {"destination": item.destination, "reason": item.reason_code or ""},
                )
            )
        evidence_store.save_evidence(
            conn,
            document.id,
            document.issuer,
            document.token,
            as_rows(document.issuer, ours, document.issued_at),
            now,
        )
        if not refused_here:
            # (Refused: we hold the delivery it lies about; it goes no further to the origin.)
            _route_on(document, node, directory, forward)
    delivery_store.record_outcomes(conn, outcomes, now)
    for hop, tokens in forward.items():
        evidence_store.queue_evidence(conn, hop, tokens, now)
    return audit


def _route_on(
    document: EvidenceDocument, node: str, directory: Directory, forward: dict[str, list[str]]
) -> None:
    """Queue the unchanged document towards each other origin it names."""
    for origin in {i.origin for i in document.items if i.origin != node}:
        hop = directory.next_hop(origin)
        if hop is not None:
            forward.setdefault(hop, []).append(document.token)


def _judge(
    issuer: str, item: EvidenceItem, delivery: Delivery, directory: Directory, via: str | None
) -> tuple[Move, str | None]:
    """How an item about one of our deliveries moves it, and the code if it is refused."""
    step = move(delivery.state, item.kind.value)
    if not concerns(issuer, item, delivery, directory, via):
        return step, WRONG_ISSUER
    if step is Move.CONFLICT:
        return step, CONFLICTS
    return step, None


def _refusal(document: EvidenceDocument, item: EvidenceItem, state: str, code: str) -> AuditEvent:
    log.warning(
        "evidence %s from %s: item %s about %s to %s refused (%s; the delivery is %s)",
        document.id,
        document.issuer,
        item.kind.value,
        item.message_id,
        item.destination,
        code,
        state,
    )
    return AuditEvent(
        document.issuer,
        AuditAction.POLICY_DECISION,
        item.message_id,
        EVIDENCE_REFUSED,
        {
            "reason": code,
            "kind": item.kind.value,
            "destination": item.destination,
            "state": state,
            "evidence": document.id,
        },
    )


def _names_our_envelope(
    item: EvidenceItem,
    document: EvidenceDocument,
    states: dict[tuple[str, str], str],
    digests: dict[tuple[str, str], str],
) -> bool:
    key = (item.message_id, item.destination)
    if key not in states:
        return False
    expected = digests.get(key)
    if expected is None or expected == item.envelope_sha256:
        return True
    log.warning(
        "evidence %s from %s names envelope %s for %s to %s, but we sent %s; %s",
        document.id,
        document.issuer,
        item.envelope_sha256,
        item.message_id,
        item.destination,
        expected,
        "the envelope was changed on the way" if item.kind is EvidenceKind.REFUSED else "not taken",
    )
    return answers(item, expected)


def answers(item: EvidenceItem, sent_digest: str | None) -> bool:
    """Whether ``item`` is evidence about the envelope whose SHA-256 is ``sent_digest`` (None:
    the envelope is no longer held, so the item is matched by message and destination). A
    refusal answers whatever envelope it names (see :func:`apply`)."""
    return (
        sent_digest is None
        or sent_digest == item.envelope_sha256
        or item.kind is EvidenceKind.REFUSED
    )


def keep_checkpoints(
    conn: Connection,
    directory: Directory,
    documents: Sequence[EvidenceDocument],
    audit_log: AuditLog,
) -> list[AuditEvent]:
    """Keep each distinct issuer checkpoint the documents carry; fail soft.

    Returns a refused ``audit.partner_checkpoint`` event per checkpoint that could not be
    kept (forged, about another node, or contradicting one we hold); never raises for it.
    """
    events: list[AuditEvent] = []
    seen: set[tuple[str, str]] = set()
    for document in documents:
        token = document.checkpoint
        if not token or (document.issuer, token) in seen:
            continue
        seen.add((document.issuer, token))
        try:
            audit_log.store_partner_checkpoint(
                document.issuer, token, directory.verify_keys, conn=conn
            )
        except AuditError as exc:
            log.warning("checkpoint from %s not kept: %s", document.issuer, exc)
            events.append(
                AuditEvent(
                    document.issuer,
                    AuditAction.PARTNER_CHECKPOINT,
                    document.issuer,
                    "refused",
                    {"reason": exc.code, "text": exc.message[:500], "evidence": document.id},
                )
            )
    return events
