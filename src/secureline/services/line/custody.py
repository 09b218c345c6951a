"""Taking in evidence from the line: record what concerns our messages, pass the rest on.

Used by both directions of the line: evidence comes back in the answer to our own
transactions, and in transactions that peers push to us (read acknowledgements, and
evidence travelling back over several hops).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from secureline.crypto.errors import CryptoError
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.line.directory import Directory
from secureline.services.line.evidence import STATE_ORDER, as_rows
from secureline.services.line.wire import EvidenceDocument, EvidenceKind, WireError, open_evidence
from secureline.store import line as line_store


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
    known_states: dict[tuple[str, str], str] | None = None,
) -> list[AuditEvent]:
    """Write evidence about our deliveries and queue evidence meant for other origins."""
    audit: list[AuditEvent] = []
    ids = [i.message_id for d in documents for i in d.items]
    states = known_states if known_states is not None else line_store.current_states(conn, ids)
    outcomes: list[line_store.Outcome] = []
    forward: dict[str, list[str]] = {}
    for document in documents:
        ours = [i for i in document.items if (i.message_id, i.destination) in states]
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
            if STATE_ORDER[item.kind.value] > STATE_ORDER.get(states[key], 0):
                states[key] = item.kind.value
                outcomes.append(
                    line_store.Outcome(
                        item.message_id,
                        item.destination,
                        item.kind.value,
                        item.reason_code,
                        item.reason_text,
                        document.issuer if item.kind is EvidenceKind.REFUSED else None,
                    )
                )
                action = {
                    EvidenceKind.REFUSED: AuditAction.MESSAGE_REFUSED,
                    EvidenceKind.READ: AuditAction.MESSAGE_READ,
                }.get(item.kind, AuditAction.MESSAGE_SENT)
                audit.append(
                    AuditEvent(
                        document.issuer,
                        action,
                        item.message_id,
                        item.kind.value,
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
