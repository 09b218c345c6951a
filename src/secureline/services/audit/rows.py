"""What the chain's modules share: the checkpoint token's type, a checkpoint as callers see
it, and a stored row read back as a record (a row that cannot be read is a broken chain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from secureline.domain.audit import AuditRecord, InvalidAuditData, decode_detail
from secureline.services.audit.errors import AuditChainBroken
from secureline.store import audit as store

__all__ = ["CHECKPOINT_TYP", "Checkpoint", "to_record"]

CHECKPOINT_TYP = "secureline-checkpoint+jws"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: ``node``'s chain had head ``head_hash`` at ``seq`` (time ``at``)."""

    node: str
    seq: int
    head_hash: str
    at: datetime
    token: str


def to_record(row: store.RecordRow) -> AuditRecord:
    try:
        detail = decode_detail(row.detail_json)
    except InvalidAuditData as exc:
        raise AuditChainBroken(row.seq, f"detail is unreadable ({exc.reason})") from None
    return AuditRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object=row.object,
        outcome=row.outcome,
        detail=detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
