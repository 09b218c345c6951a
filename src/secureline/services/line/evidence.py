"""Issuing and taking in signed evidence (the "proves every delivery" half of the line)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum

from secureline.services.line.evidence_model import fit_item
from secureline.services.line.identity import NodeIdentity
from secureline.services.line.wire import EvidenceItem, sign_evidence
from secureline.store.line.evidence import NewEvidence

# Forward progress of a delivery (for display and counting; the moves are TRANSITIONS).
STATE_ORDER = {"queued": 0, "sent": 1, "relayed": 2, "delivered": 3, "read": 4, "refused": 5}

#: The moves evidence may make, from a delivery's state to the item's kind (docs/protocol.md
#: §7). ``read`` after anything short of ``delivered``: a read receipt may overtake the
#: ``delivered`` document (it is pushed later, possibly by another route); it proves delivery.
#: Nothing leaves ``delivered`` but ``read``, and nothing leaves ``read`` or ``refused``.
#: ``held`` (waiting for a second officer) was never sent: no evidence can be about it.
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"relayed", "delivered", "read", "refused"}),
    "sent": frozenset({"relayed", "delivered", "read", "refused"}),
    "relayed": frozenset({"delivered", "read", "refused"}),
    "delivered": frozenset({"read"}),
    "read": frozenset(),
    "refused": frozenset(),
    "held": frozenset(),
}
#: Evidence the line produces in the ordinary course after a later step was recorded (the
#: relay's answer read after the destination's pushed ``delivered``, a repeated document):
#: taken as history, no move and nothing to report. Any other item that is not a move
#: contradicts the delivery's state (``refused`` after ``delivered``) and is refused.
LATE: dict[str, frozenset[str]] = {
    "relayed": frozenset({"relayed"}),
    "delivered": frozenset({"relayed", "delivered"}),
    "read": frozenset({"relayed", "delivered", "read"}),
    "refused": frozenset({"refused"}),
}


class Move(Enum):
    FORWARD = "forward"  # the delivery moves to the item's kind
    LATE = "late"  # an earlier step, or the same one again: history only
    CONFLICT = "conflict"  # contradicts the state: refused, audited


def move(state: str, kind: str) -> Move:
    if kind in TRANSITIONS.get(state, frozenset()):
        return Move.FORWARD
    if kind in LATE.get(state, frozenset()):
        return Move.LATE
    return Move.CONFLICT


def new_token_id() -> str:
    return "ev-" + secrets.token_hex(12)


def issue(
    identity: NodeIdentity,
    items: Sequence[EvidenceItem],
    now: datetime,
    checkpoint: str | None,
    *,
    batch_for: str,
) -> list[tuple[str, str, list[EvidenceItem]]]:
    """Sign evidence: one document for the items whose origin is ``batch_for`` (the peer we
    answer), one per item for every other origin, because those travel on alone, hop by hop,
    to an origin that must not see other organisations' message ids. Items are fitted to the
    wire limits first (:func:`fit_item`; one that cannot be is left out)."""
    # Each item fits the receivers' wire model (evidence_model), so no document we sign is
    # unreadable to them because of what a peer put in an envelope.
    fitted = [f for f in map(fit_item, items) if f is not None]
    direct = [i for i in fitted if i.origin == batch_for]
    documents: list[tuple[str, str, list[EvidenceItem]]] = []
    groups: list[list[EvidenceItem]] = [direct] if direct else []
    groups += [[i] for i in fitted if i.origin != batch_for]
    for group in groups:
        token_id = new_token_id()
        token = sign_evidence(token_id, identity.name, now, group, checkpoint, identity.signing)
        documents.append((token_id, token, group))
    return documents


def as_rows(issuer: str, items: Iterable[EvidenceItem], issued_at: datetime) -> list[NewEvidence]:
    return [
        NewEvidence(
            message_id=i.message_id,
            kind=i.kind.value,
            issuer=issuer,
            destination=i.destination,
            reason_code=i.reason_code,
            reason_text=i.reason_text,
            issued_at=issued_at,
        )
        for i in items
    ]
