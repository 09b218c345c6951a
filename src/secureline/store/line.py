"""The line's durable state: deliveries (the outbox), inbound transactions, evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, delete, func, insert, select, update

from secureline.store import bulk, dialect
from secureline.store.database import Database
from secureline.store.messages import sent_content
from secureline.store.tables import (
    deliveries,
    envelopes,
    evidence_outbox,
    evidence_tokens,
    inbound_transactions,
    messages,
    peers,
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
    ``split_after``, a batch whose oldest envelope keeps failing is cut (see split_limit)."""
    with db.transaction() as conn:
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
    """Queue a message held for review; returns the next hops it now waits for (none: it
    was not held, or another decision took it first)."""
    hops = [r.next_hop for r in conn.execute(_held_rows(message_id, deliveries.c.next_hop))]
    conn.execute(
        update(deliveries)
        .where(deliveries.c.message_id == message_id, deliveries.c.state == "held")
        .values(state="queued", not_before=now, created_at=now, updated_at=now)
    )
    return hops


def refuse_held(
    conn: Connection, message_id: str, code: str, reason: str, refused_by: str, now: datetime
) -> list[str]:
    """Refuse, for good, every delivery of a message held for review (a second person
    rejected it); returns their destinations (none: the message was not held). Its signed
    envelopes go with it, so that nothing of it can ever be sent."""
    destinations = [
        r.destination for r in conn.execute(_held_rows(message_id, deliveries.c.destination))
    ]
    if not destinations:
        return []
    # The content may be kept only in these envelopes: it stays in the message's row.
    conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.content_json.is_(None))
        .values(content_json=sent_content(conn, message_id))
    )
    conn.execute(
        update(deliveries)
        .where(deliveries.c.message_id == message_id, deliveries.c.state == "held")
        .values(
            state="refused",
            reason_code=code,
            reason_text=reason,
            refused_by=refused_by,
            updated_at=now,
        )
    )
    conn.execute(
        delete(envelopes).where(
            envelopes.c.message_id == message_id, envelopes.c.destination.in_(destinations)
        )
    )
    return destinations


def _held_rows(message_id: str, column: Any) -> Select[Any]:
    """A message's held deliveries, locked until the transaction ends: a second decision
    taken at the same time (approve and reject, or the same one twice, on two workers) waits
    for the first, then finds nothing held (PostgreSQL reads the locked rows again; SQLite's
    write transactions are serialised anyway)."""
    return (
        select(column)
        .where(deliveries.c.message_id == message_id, deliveries.c.state == "held")
        .with_for_update()
    )


class HeldMessage(NamedTuple):
    message_id: str
    header_json: str
    destinations: tuple[str, ...]


def held_messages(db: Database, limit: int = 500) -> list[HeldMessage]:
    """Messages composed here that wait for review (oldest first, bounded), with the
    destination nodes each waits for."""
    with db.read() as conn:
        ids = (
            select(deliveries.c.message_id)
            .where(deliveries.c.state == "held")
            .group_by(deliveries.c.message_id)
            .order_by(deliveries.c.message_id)
            .limit(limit)
            .subquery()
        )
        rows = conn.execute(
            select(messages.c.id, messages.c.header_json, deliveries.c.destination)
            .join(deliveries, deliveries.c.message_id == messages.c.id)
            .where(messages.c.id.in_(select(ids.c.message_id)), deliveries.c.state == "held")
            .order_by(messages.c.id, deliveries.c.destination)
        ).all()
    found: dict[str, HeldMessage] = {}
    for message_id, header_json, destination in rows:
        held = found.get(message_id) or HeldMessage(message_id, header_json, ())
        found[message_id] = held._replace(destinations=(*held.destinations, destination))
    return list(found.values())
