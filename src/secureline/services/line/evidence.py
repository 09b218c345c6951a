"""Issuing and taking in signed evidence (the "proves every delivery" half of the line)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from secureline.services.line.identity import NodeIdentity
from secureline.services.line.wire import EvidenceItem, sign_evidence
from secureline.store.line import NewEvidence

# Forward progress of a delivery; evidence never moves a delivery backwards.
STATE_ORDER = {"queued": 0, "sent": 1, "relayed": 2, "delivered": 3, "read": 4, "refused": 5}


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
    to an origin that must not see other organisations' message ids."""
    direct = [i for i in items if i.origin == batch_for]
    documents: list[tuple[str, str, list[EvidenceItem]]] = []
    groups: list[list[EvidenceItem]] = [direct] if direct else []
    groups += [[i] for i in items if i.origin != batch_for]
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
