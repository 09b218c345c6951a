"""What the line keeps of transactions and evidence: each inbound transaction's stored
answer (idempotence by origin and txn id), the signed evidence documents taken in or issued
(and each issuer's newest sign of life), and the evidence outbox towards each next hop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, insert, select, update

from secureline.store import bulk
from secureline.store.database import Database
from secureline.store.tables import evidence_outbox, evidence_tokens, inbound_transactions, peers


class NewEvidence(NamedTuple):
    message_id: str
    kind: str
    issuer: str
    destination: str | None
    reason_code: str | None
    reason_text: str | None
    issued_at: datetime


_NEW_EVIDENCE_COLUMNS = NewEvidence._fields


def stored_transaction(db: Database, origin: str, txn_id: str) -> tuple[str, bytes] | None:
    with db.read() as conn:
        row = conn.execute(
            select(inbound_transactions.c.request_digest, inbound_transactions.c.response).where(
                inbound_transactions.c.origin == origin, inbound_transactions.c.txn_id == txn_id
            )
        ).first()
    return (row[0], bytes(row[1])) if row else None


def save_transaction(
    conn: Connection, origin: str, txn_id: str, digest: str, response: bytes, now: datetime
) -> None:
    conn.execute(
        insert(inbound_transactions).values(
            origin=origin, txn_id=txn_id, request_digest=digest, response=response, received_at=now
        )
    )


def save_evidence(
    conn: Connection,
    token_id: str,
    issuer: str,
    token: str,
    items: Sequence[NewEvidence],
    now: datetime,
) -> None:
    exists = conn.execute(
        select(evidence_tokens.c.id).where(evidence_tokens.c.id == token_id)
    ).first()
    if exists:
        return  # the same signed document again (a replayed or forwarded copy)
    conn.execute(
        insert(evidence_tokens).values(id=token_id, issuer=issuer, token=token, stored_at=now)
    )
    bulk.insert_many(
        conn,
        "evidence",
        (*_NEW_EVIDENCE_COLUMNS, "token_id"),
        ((*item, token_id) for item in items),
    )
    if items:  # one row per document, not per item: the issuer's newest sign of life
        newest = max(items, key=lambda item: item.issued_at)
        conn.execute(
            update(peers)
            .where(
                peers.c.name == issuer,
                (peers.c.last_evidence_at.is_(None))
                | (peers.c.last_evidence_at < newest.issued_at),
            )
            .values(last_evidence_kind=newest.kind, last_evidence_at=newest.issued_at)
        )


def evidence_token(db: Database, token_id: str) -> str | None:
    with db.read() as conn:
        row = conn.execute(
            select(evidence_tokens.c.token).where(evidence_tokens.c.id == token_id)
        ).first()
    return row[0] if row else None


def queue_evidence(conn: Connection, next_hop: str, tokens: Sequence[str], now: datetime) -> None:
    if tokens:
        conn.execute(
            insert(evidence_outbox),
            [
                {
                    "next_hop": next_hop,
                    "token": t,
                    "attempts": 0,
                    "not_before": now,
                    "created_at": now,
                }
                for t in tokens
            ],
        )


def claim_evidence(db: Database, next_hop: str, now: datetime, limit: int) -> list[tuple[int, str]]:
    with db.read() as conn:
        rows = conn.execute(
            select(evidence_outbox.c.seq, evidence_outbox.c.token)
            .where(evidence_outbox.c.next_hop == next_hop, evidence_outbox.c.not_before <= now)
            .order_by(evidence_outbox.c.seq)
            .limit(limit)
        ).all()
    return [(int(s), str(t)) for s, t in rows]


def forget_evidence(conn: Connection, seqs: Sequence[int]) -> None:
    if seqs:
        conn.execute(delete(evidence_outbox).where(evidence_outbox.c.seq.in_(list(seqs))))
