"""Taking in evidence from the line: record what concerns our messages, pass the rest on.

Used by both directions of the line: evidence comes back in the answer to our own
transactions, and in transactions that peers push to us (read acknowledgements, and
evidence travelling back over several hops).

Cross-anchoring: an evidence document carries its issuer's latest audit checkpoint.
:func:`apply` keeps it (:meth:`AuditLog.store_partner_checkpoint`, in the same transaction
as the evidence, once per distinct checkpoint). A checkpoint that does not verify is
logged and recorded as a refused ``audit.partner_checkpoint`` event; the evidence it came
with is still taken in, since its own signature was checked on its own.

Audit actions, per (message, destination) of our own deliveries: the first evidence that
the next hop took custody (``relayed`` or ``delivered``) is ``message.sent`` (actor: the
issuer); a later ``delivered`` after ``relayed`` moves the delivery on but is not a second
send (it is the relay's and the destination's records); ``read`` is ``message.read``
(actor: the reporting node) and ``refused`` is ``message.refused`` with the reason code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from secureline.crypto.errors import CryptoError
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.audit import AuditError, AuditLog
from secureline.services.line.directory import Directory
from secureline.services.line.evidence import STATE_ORDER, as_rows
from secureline.services.line.wire import (
    EvidenceDocument,
    EvidenceItem,
    EvidenceKind,
    WireError,
    envelope_digest,
    open_evidence,
)
from secureline.store import line as line_store

log = logging.getLogger(__name__)
#: States after which a delivery already has its ``message.sent`` record.
_IN_CUSTODY = STATE_ORDER["relayed"]
#: The audit action for each kind of evidence; the others (relayed, delivered) are a send.
_ACTIONS = {
    EvidenceKind.REFUSED: AuditAction.MESSAGE_REFUSED,
    EvidenceKind.READ: AuditAction.MESSAGE_READ,
}


@dataclass
class Intake:
    """Evidence documents checked and sorted, ready to be written in one transaction."""

    documents: list[EvidenceDocument] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def check(tokens: Sequence[str], directory: Directory) -> Intake:
    intake = Intake()
    for token in tokens:
        try:
            intake.documents.append(open_evidence(token, directory.verify_keys))
        except (CryptoError, WireError) as exc:
            intake.rejected.append(str(exc))
    return intake


def apply(
    conn: Connection,
    node: str,
    directory: Directory,
    documents: Sequence[EvidenceDocument],
    now: datetime,
    *,
    audit_log: AuditLog,
    sent_digests: dict[tuple[str, str], str] | None = None,
) -> list[AuditEvent]:
    """Write evidence about our deliveries, keep the issuers' checkpoints, and queue
    evidence meant for other origins. Returns the audit events for the caller to record.

    An item that the envelope arrived (relayed, delivered, read) counts for one of our
    deliveries only when it names the envelope we sent (its SHA-256): it is proof that those
    bytes arrived, not just a message id. A refusal counts whatever envelope it names: one that
    differs from ours was changed on the way, and the refusal is how the origin learns it. The
    caller that just sent the envelopes passes their digests; otherwise they are read here.

    The deliveries' states are read here, locked, even by the sender that just marked them
    ``sent``: evidence pushed to us meanwhile may have moved them on, and evidence never
    moves a delivery back (nor records its send twice)."""
    audit = keep_checkpoints(conn, directory, documents, audit_log)
    ids = [i.message_id for d in documents for i in d.items]
    states = line_store.current_states(conn, ids, for_update=True)
    digests = sent_digests
    if digests is None:
        held = line_store.envelopes_for(conn, ids)
        # A purged envelope is blank: its evidence can only be matched by id.
        digests = {key: envelope_digest(token) for key, token in held.items() if token}
    outcomes: list[line_store.Outcome] = []
    forward: dict[str, list[str]] = {}
    for document in documents:
        ours = [i for i in document.items if _names_our_envelope(i, document, states, digests)]
        line_store.save_evidence(
            conn,
            document.id,
            document.issuer,
            document.token,
            as_rows(document.issuer, ours, document.issued_at),
            now,
        )
        for item in ours:
            key = (item.message_id, item.destination)
            kind = item.kind.value
            before = STATE_ORDER.get(states[key], 0)
            if STATE_ORDER[kind] > before:
                states[key] = kind
                outcomes.append(
                    line_store.Outcome(
                        item.message_id,
                        item.destination,
                        kind,
                        item.reason_code,
                        item.reason_text,
                        document.issuer if item.kind is EvidenceKind.REFUSED else None,
                    )
                )
                action = _ACTIONS.get(item.kind, AuditAction.MESSAGE_SENT)
                if action is AuditAction.MESSAGE_SENT and before >= _IN_CUSTODY:
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
        origins = {i.origin for i in document.items if i.origin != node}
        for origin in origins:
            hop = directory.next_hop(origin)
            if hop is not None:
                forward.setdefault(hop, []).append(document.token)
    line_store.record_outcomes(conn, outcomes, now)
    for hop, tokens in forward.items():
        line_store.queue_evidence(conn, hop, tokens, now)
    return audit


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
