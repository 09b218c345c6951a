"""The delivery outbox: one row per (message, destination) this node sends or relays, with
its signed envelope, claimed by the link's senders and moved on by the evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, func, select, update

from secureline.store import bulk, dialect
from secureline.store.database import Database
from secureline.store.tables import deliveries, envelopes


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
    # transactions that carried it and failed as a whole (the poison search reads it)
    attempts: int = 0


class Outcome(NamedTuple):
    """What the next hop said of one envelope."""

    message_id: str
    destination: str
    state: str  # relayed, delivered, refused, read
    reason_code: str | None = None
    reason_text: str | None = None
    refused_by: str | None = None


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


def split_limit(limit: int, attempts: int, split_after: int) -> int:
    """The batch size for a queue whose oldest envelope failed ``attempts`` times as part of
    a whole failed transaction: whole batches until ``split_after``, then half at each
    further failure, down to one envelope alone (the poison search, kept in the rows'
    attempt counts so that every worker continues it where another left it)."""
    if split_after <= 0 or attempts < split_after:
        return limit
    return max(1, limit >> min(attempts - split_after + 1, 30))


def claim_deliveries(
    db: Database,
    next_hop: str,
    now: datetime,
    limit: int,
    max_bytes: int,
    split_after: int = 0,
) -> list[QueuedDelivery]:
    """Take the oldest due envelopes for one link, within a batch's bounds, and mark them
    'sent' in the same transaction, so that several senders never take the same row
    (SKIP LOCKED on PostgreSQL; SQLite's write transactions are serialised anyway). With
    ``split_after``, a batch whose oldest envelope keeps failing is cut (see split_limit).

    Not durable: a claim lost to a power cut leaves its envelopes queued, and they go again."""
    with db.transaction(durable=False) as conn:
        query = (
            select(
                deliveries.c.seq,
                deliveries.c.message_id,
                deliveries.c.destination,
                envelopes.c.envelope,
                deliveries.c.path,
                deliveries.c.attempts,
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
        if rows:
            rows = rows[: split_limit(limit, int(rows[0].attempts or 0), split_after)]
        batch: list[QueuedDelivery] = []
        size = 0
        for row in rows:
            size += len(row.envelope) + len(row.path) + 32
            if batch and size > max_bytes:
                break
            batch.append(QueuedDelivery(*row[:5], int(row[5] or 0)))
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


def postpone(
    db: Database, seqs: Sequence[int], not_before: datetime, *, count: bool = True
) -> None:
    """Put envelopes that went out back in the queue, to go again at ``not_before``;
    ``count``: the attempt counts against them (the peer took the transaction and failed
    it), not when the peer could not be reached at all.

    Only rows still ``sent`` go back: evidence pushed to us while the batch was on the wire
    (a relay reporting the destination's ``delivered`` before its own answer arrived) may
    already have moved a delivery forward, and a delivery never moves back."""
    attempts = deliveries.c.attempts + 1 if count else deliveries.c.attempts
    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.seq.in_(list(seqs)), deliveries.c.state == "sent")
            .values(state="queued", attempts=attempts, not_before=not_before)
        )


def set_aside(db: Database, seq: int, code: str | None, answer: str, now: datetime) -> None:
    """An envelope that the next hop fails alone: out of the queue, with the hop's answer,
    until an administrator retries or drops it (only if still ``sent``, as in postpone)."""
    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.seq == seq, deliveries.c.state == "sent")
            .values(
                state="failed",
                attempts=deliveries.c.attempts + 1,
                reason_code=(code or "failed")[:60],
                reason_text=answer,
                updated_at=now,
            )
        )


@dataclass(frozen=True)
class FailedDelivery:
    message_id: str
    destination: str
    next_hop: str
    reason_code: str | None
    reason_text: str | None
    attempts: int
    updated_at: datetime


def failed_deliveries(
    conn: Connection, message_id: str | None = None, *, limit: int = 100
) -> list[FailedDelivery]:
    """Envelopes set aside (all, oldest first, bounded; or those of one message)."""
    query = select(
        deliveries.c.message_id,
        deliveries.c.destination,
        deliveries.c.next_hop,
        deliveries.c.reason_code,
        deliveries.c.reason_text,
        deliveries.c.attempts,
        deliveries.c.updated_at,
    ).where(deliveries.c.state == "failed")
    if message_id is not None:
        query = query.where(deliveries.c.message_id == message_id)
    rows = conn.execute(query.order_by(deliveries.c.seq).limit(limit)).all()
    return [FailedDelivery(*r) for r in rows]


def resolve_failed(conn: Connection, message_id: str, state: str, now: datetime) -> list[str]:
    """Retry (``queued``, its attempts cleared) or drop (``dropped``) a message's envelopes
    set aside; returns their next hops."""
    hops = [f.next_hop for f in failed_deliveries(conn, message_id)]
    values: dict[str, object] = {"state": state, "updated_at": now}
    if state == "queued":
        values.update(attempts=0, not_before=now, reason_code=None, reason_text=None)
    conn.execute(
        update(deliveries)
        .where(deliveries.c.message_id == message_id, deliveries.c.state == "failed")
        .values(**values)
    )
    return hops


@dataclass(frozen=True)
class QueueStats:
    depth: int  # queued and in flight
    oldest: datetime | None  # the oldest one's queueing time
    in_flight: int = 0
    # when the oldest envelope now in flight went out (a push that long without an answer)
    oldest_in_flight: datetime | None = None
    failed: int = 0


def queue_stats(db: Database) -> dict[str, QueueStats]:
    """Undelivered envelopes per next hop: queued and in flight (depth), the oldest one's
    queueing time, how long the oldest push has waited, and how many were set aside."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                deliveries.c.next_hop,
                deliveries.c.state,
                func.count(),
                func.min(deliveries.c.created_at),
                func.min(deliveries.c.updated_at),
            )
            .where(deliveries.c.state.in_(("queued", "sent", "failed")))
            .group_by(deliveries.c.next_hop, deliveries.c.state)
        ).all()
    by_hop: dict[str, dict[str, tuple[int, datetime, datetime]]] = {}
    for hop, state, n, created, updated in rows:
        by_hop.setdefault(hop, {})[state] = (int(n), created, updated)
    result = {}
    for hop, states in by_hop.items():
        queued, sent = states.get("queued"), states.get("sent")
        created = [s[1] for s in (queued, sent) if s is not None]
        result[hop] = QueueStats(
            depth=(queued[0] if queued else 0) + (sent[0] if sent else 0),
            oldest=min(created) if created else None,
            in_flight=sent[0] if sent else 0,
            oldest_in_flight=sent[2] if sent else None,
            failed=states["failed"][0] if "failed" in states else 0,
        )
    return result


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
