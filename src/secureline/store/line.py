"""The line's durable state: deliveries (the outbox), inbound transactions, evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, func, insert, select, update

from secureline.store import bulk, dialect
from secureline.store.database import Database
from secureline.store.tables import (
    deliveries,
    envelopes,
    evidence_outbox,
    evidence_tokens,
    inbound_transactions,
)


# Rows are tuples, as in store/messages.py: several are built per message on the hot path.
class NewDelivery(NamedTuple):
    message_id: str
    destination: str
    next_hop: str
    envelope: str
    path: str  # JSON list of the hops before this node


_DELIVERY_COLUMNS = (
    "message_id",
    "destination",
    "next_hop",
    "path",
    "state",
    "attempts",
    "not_before",
    "created_at",
    "updated_at",
)


class QueuedDelivery(NamedTuple):
    seq: int
    message_id: str
    destination: str
    envelope: str
    path: str


class Outcome(NamedTuple):
    """What the next hop said of one envelope."""

    message_id: str
    destination: str
    state: str  # relayed, delivered, refused, read
    reason_code: str | None = None
    reason_text: str | None = None
    refused_by: str | None = None


class NewEvidence(NamedTuple):
    message_id: str
    kind: str
    issuer: str
    destination: str | None
    reason_code: str | None
    reason_text: str | None
    issued_at: datetime


_NEW_EVIDENCE_COLUMNS = NewEvidence._fields


def queue_deliveries(
    conn: Connection, rows: Sequence[NewDelivery], now: datetime, state: str = "queued"
) -> None:
    bulk.insert_many(
        conn,
        "deliveries",
        _DELIVERY_COLUMNS,
        ((r.message_id, r.destination, r.next_hop, r.path, state, 0, now, now, now) for r in rows),
    )
    bulk.insert_many(
        conn,
        "envelopes",
        ("message_id", "destination", "envelope"),
        ((r.message_id, r.destination, r.envelope) for r in rows),
    )


def claim_deliveries(
    db: Database, next_hop: str, now: datetime, limit: int, max_bytes: int
) -> list[QueuedDelivery]:
    """Take the oldest due envelopes for one link, within a batch's bounds, and mark them
    'sent' in the same transaction, so that several senders never take the same row
    (SKIP LOCKED on PostgreSQL; SQLite's write transactions are serialised anyway)."""
    with db.transaction() as conn:
        query = (
            select(
                deliveries.c.seq,
                deliveries.c.message_id,
                deliveries.c.destination,
                envelopes.c.envelope,
                deliveries.c.path,
            )
            .join(
                envelopes,
                (envelopes.c.message_id == deliveries.c.message_id)
                & (envelopes.c.destination == deliveries.c.destination),
            )
            .where(
                deliveries.c.next_hop == next_hop,
                deliveries.c.state == "queued",
                deliveries.c.not_before <= now,
            )
            .order_by(deliveries.c.seq)
            .limit(limit)
        )
        if dialect.skip_locked(db.url):
            query = query.with_for_update(of=deliveries, skip_locked=True)
        rows = conn.execute(query).all()
        batch: list[QueuedDelivery] = []
        size = 0
        for row in rows:
            size += len(row.envelope) + len(row.path) + 32
            if batch and size > max_bytes:
                break
            batch.append(QueuedDelivery(*row))
        mark_sent(conn, [d.seq for d in batch], now)
    return batch


def record_outcomes(conn: Connection, outcomes: Sequence[Outcome], now: datetime) -> None:
    bulk.update_many(
        conn,
        "deliveries",
        ("state", "reason_code", "reason_text", "refused_by", "updated_at"),
        ("message_id", "destination"),
        (
            (o.state, o.reason_code, o.reason_text, o.refused_by, now, o.message_id, o.destination)
            for o in outcomes
        ),
    )


def postpone(db: Database, seqs: Sequence[int], not_before: datetime) -> None:
    """Put envelopes that went out back in the queue, to go again at ``not_before``.

    Only rows still ``sent`` go back: evidence pushed to us while the batch was on the wire
    (a relay reporting the destination's ``delivered`` before its own answer arrived) may
    already have moved a delivery forward, and a delivery never moves back."""
    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.seq.in_(list(seqs)), deliveries.c.state == "sent")
            .values(state="queued", attempts=deliveries.c.attempts + 1, not_before=not_before)
        )


@dataclass(frozen=True)
class QueueStats:
    depth: int
    oldest: datetime | None


def queue_stats(db: Database) -> dict[str, QueueStats]:
    """Undelivered envelopes per next hop: depth and the oldest one's queueing time."""
    with db.read() as conn:
        rows = conn.execute(
            select(deliveries.c.next_hop, func.count(), func.min(deliveries.c.created_at))
            .where(deliveries.c.state == "queued")
            .group_by(deliveries.c.next_hop)
        ).all()
    return {hop: QueueStats(int(n), oldest) for hop, n, oldest in rows}


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


def mark_sent(conn: Connection, seqs: Sequence[int], now: datetime) -> None:
    bulk.update_many(
        conn, "deliveries", ("state", "updated_at"), ("seq",), (("sent", now, s) for s in seqs)
    )


def requeue_sent(db: Database) -> int:
    """After a restart: envelopes that were on the wire when the node stopped go out again
    (the receiver's idempotence by message id makes the second copy harmless)."""
    with db.transaction() as conn:
        result = conn.execute(
            update(deliveries).where(deliveries.c.state == "sent").values(state="queued")
        )
    return int(result.rowcount)


def envelopes_for(conn: Connection, message_ids: Sequence[str]) -> dict[tuple[str, str], str]:
    """The envelopes this node sent or relayed for these messages, by (message, destination)."""
    rows = bulk.select_in(
        conn, "envelopes", ("message_id", "destination", "envelope"), "message_id", message_ids
    )
    return {(m, d): envelope for m, d, envelope in rows}


def current_states(
    conn: Connection, message_ids: Sequence[str], *, for_update: bool = False
) -> dict[tuple[str, str], str]:
    """The state of each delivery of these messages. ``for_update``: the caller is about to
    move them on, so the rows stay locked until its transaction ends (PostgreSQL; SQLite's
    write transactions hold the whole file already), in key order, so that two transactions
    moving the same deliveries wait for each other instead of deadlocking."""
    rows = bulk.select_in(
        conn,
        "deliveries",
        ("message_id", "destination", "state"),
        "message_id",
        message_ids,
        lock_order=("message_id", "destination") if for_update else (),
    )
    return {(m, d): state for m, d, state in rows}


def release_held(conn: Connection, message_id: str, now: datetime) -> list[str]:
    """Queue a message held for review; returns the next hops it now waits for."""
    hops = [
        r.next_hop
        for r in conn.execute(
            select(deliveries.c.next_hop).where(
                deliveries.c.message_id == message_id, deliveries.c.state == "held"
            )
        )
    ]
    conn.execute(
        update(deliveries)
        .where(deliveries.c.message_id == message_id, deliveries.c.state == "held")
        .values(state="queued", not_before=now, created_at=now, updated_at=now)
    )
    return hops
