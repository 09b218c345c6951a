"""Hits: a received message's entity that matched a holding of its recipient unit, and the
queue of received messages still to be cross-checked (issue 16, item 3; migration ``0010k``).

``crosscheck_pending`` is the queue between the line and the matcher. The receiving
transaction adds a row per message delivered here that carries entities (never the matching
itself: the line's answer waits for nothing but its commit); any worker on the store claims
rows with a lease (``claim`` and ``claimed_until``, ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL) and removes them in the transaction that writes what it found
(:func:`finish`). A worker that dies leaves its lease to run out; a purge or a correction
of the message removes its row (and a correction queues it again), so a worker holding an
old claim finds the row not its own and writes nothing.

A hit keeps both sides' provenance as they were when it was made (the message, its sender
node and handling code; the holding's source, its handling code and, for a received
message's entity, that message), the score and the reasons. A decision (confirmed or
dismissed, who, when, a note) is made once and kept. When the message on either side is
purged, retracted or corrected, the hit is **withdrawn**: the entities' captions and the
reasons (which quote names and dates) are erased, and the ids, the score, the decision and
why it was withdrawn remain, so that nothing purged stays readable through a hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from secureline.store import bulk, dialect
from secureline.store import holdings as holdings_store
from secureline.store.messages import MessageRow, loaded
from secureline.store.tables import ID, NAME, SEQ, TS, messages, metadata

NEW, CONFIRMED, DISMISSED, WITHDRAWN = "new", "confirmed", "dismissed", "withdrawn"
STATES = (NEW, CONFIRMED, DISMISSED, WITHDRAWN)
#: a claim's attempts after which a message is left in the queue for an operator to look at
MAX_ATTEMPTS = 5

crosscheck_pending = Table(
    "crosscheck_pending",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("message_id", ID, nullable=False, unique=True),
    Column("queued_at", TS, nullable=False),
    Column("claim", String(32), nullable=True),
    Column("claimed_until", TS, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
)

hits = Table(
    "hits",
    metadata,
    Column("id", ID, primary_key=True),
    Column("unit", NAME, nullable=False),  # the recipient unit, which holds the holding
    Column("score", Float, nullable=False),
    Column("message_id", ID, nullable=False),
    Column("sender", String(200), nullable=False),  # unit@node that sent the message
    Column("sender_node", NAME, nullable=False),
    Column("message_handling", String(2), nullable=False),
    Column("entity_id", holdings_store.ENTITY_ID, nullable=False),
    Column("entity_schema", String(40), nullable=False),
    Column("entity_caption", String(300), nullable=True),  # NULL once withdrawn
    Column("holding", ID, nullable=False),  # holdings.key (the row may be gone since)
    Column("holding_source", String(120), nullable=False),
    Column("holding_entity_id", holdings_store.ENTITY_ID, nullable=False),
    Column("holding_schema", String(40), nullable=False),
    Column("holding_caption", String(300), nullable=True),  # NULL once withdrawn
    Column("holding_handling", String(2), nullable=False),
    Column("holding_message_id", ID, nullable=True),
    Column("reasons_json", Text, nullable=True),  # NULL once withdrawn
    Column("created_at", TS, nullable=False),
    Column("decision", String(10), nullable=True),  # confirmed | dismissed
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("note", Text, nullable=True),
    Column("withdrawn_at", TS, nullable=True),
    Column("withdrawn_reason", String(20), nullable=True),  # purged | corrected
    Index(None, "unit", "created_at"),
    Index(None, "message_id"),
    Index(None, "holding_message_id"),
)


class Hit(NamedTuple):
    id: str
    unit: str
    score: float
    message_id: str
    sender: str
    sender_node: str
    message_handling: str
    entity_id: str
    entity_schema: str
    entity_caption: str | None
    holding: str
    holding_source: str
    holding_entity_id: str
    holding_schema: str
    holding_caption: str | None
    holding_handling: str
    holding_message_id: str | None
    reasons_json: str | None
    created_at: datetime
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None

    @property
    def state(self) -> str:
        if self.withdrawn_at is not None:
            return WITHDRAWN
        return self.decision or NEW


# --- the queue ------------------------------------------------------------------------------


def queue(conn: Connection, message_ids: Sequence[str], now: datetime) -> None:
    """Queue received messages for the cross-check, in the transaction that stores them."""
    bulk.insert_many(  # on the line's hot path: through the driver's executemany
        conn,
        "crosscheck_pending",
        ("message_id", "queued_at", "attempts"),
        ((m, now, 0) for m in message_ids),
    )


def claim(
    conn: Connection, url: str, token: str, now: datetime, lease: timedelta, limit: int
) -> list[str]:
    """Claim up to ``limit`` queued messages (oldest first) that no live lease holds."""
    p = crosscheck_pending.c
    query = (
        select(p.message_id)
        .where(
            or_(p.claimed_until.is_(None), p.claimed_until < now),
            p.attempts < MAX_ATTEMPTS,
        )
        .order_by(p.seq)
        .limit(limit)
    )
    if dialect.skip_locked(url):
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    if ids:
        conn.execute(
            update(crosscheck_pending)
            .where(p.message_id.in_(ids))
            .values(claim=token, claimed_until=now + lease, attempts=p.attempts + 1)
        )
    return ids


def finish(conn: Connection, token: str, message_id: str) -> bool:
    """Remove the message's queue row if ``token`` still holds it (locked until the
    transaction ends, so a purge waits for what this one writes); False: the row went to
    another claim, or the message was purged or corrected since, so write nothing."""
    p = crosscheck_pending.c
    mine = conn.execute(
        select(p.seq).where(p.message_id == message_id, p.claim == token).with_for_update()
    ).first()
    if mine is None:
        return False
    conn.execute(delete(crosscheck_pending).where(p.seq == mine.seq))
    return True


def pending(conn: Connection) -> int:
    """How many messages wait for the cross-check (claimed or not)."""
    return int(conn.execute(select(func.count()).select_from(crosscheck_pending)).scalar_one())


# --- what a purge or a correction does ---------------------------------------------------


def content_replaced(conn: Connection, message_id: str, *, corrected: bool, now: datetime) -> None:
    """A stored message was purged, retracted or corrected: its entities leave the index,
    the hits on either side of it are withdrawn, and a corrected one is cross-checked again
    (its new entities). Called by the store's purge and correction, in their transaction."""
    # The queue row first: a worker that holds it locked is writing what it found for the
    # old content, and this statement waits for that to commit, so that the statements
    # below (each reading afresh) remove what it wrote too.
    was_queued = conn.execute(
        delete(crosscheck_pending).where(crosscheck_pending.c.message_id == message_id)
    ).rowcount
    holdings_store.remove_message(conn, message_id)
    h = hits.c
    conn.execute(
        update(hits)
        .where(
            or_(h.message_id == message_id, h.holding_message_id == message_id),
            h.withdrawn_at.is_(None),
        )
        .values(
            withdrawn_at=now,
            withdrawn_reason="corrected" if corrected else "purged",
            entity_caption=None,
            holding_caption=None,
            reasons_json=None,
        )
    )
    if corrected and (was_queued or _received_here(conn, message_id)):
        queue(conn, [message_id], now)


def _received_here(conn: Connection, message_id: str) -> bool:
    """Only a message delivered here is cross-checked (not one composed or relayed here)."""
    row = conn.execute(
        select(messages.c.direction).where(messages.c.id == message_id)
    ).scalar_one_or_none()
    return row == "in"


# --- hits -------------------------------------------------------------------------------------


def to_check(conn: Connection, message_ids: Sequence[str]) -> list[MessageRow]:
    """The claimed messages as stored (content read out of the envelope where kept there)."""
    rows = conn.execute(select(messages).where(messages.c.id.in_(sorted(message_ids))))
    return [loaded(r._mapping) for r in rows]


def add(conn: Connection, rows: Sequence[Hit]) -> None:
    if rows:
        conn.execute(insert(hits), [r._asdict() for r in rows])


def get(conn: Connection, hit_id: str) -> Hit | None:
    row = conn.execute(select(hits).where(hits.c.id == hit_id)).first()
    return _hit(row) if row else None


def page(conn: Connection, units: Sequence[str] | None, state: str | None, limit: int) -> list[Hit]:
    """Hits seen by ``units`` (None: every unit), newest first, in ``state`` if given."""
    h = hits.c
    query = select(hits).order_by(h.created_at.desc(), h.id).limit(limit)
    if units is not None:
        query = query.where(h.unit.in_(sorted(units)))
    if state == WITHDRAWN:
        query = query.where(h.withdrawn_at.is_not(None))
    elif state == NEW:
        query = query.where(h.withdrawn_at.is_(None), h.decision.is_(None))
    elif state is not None:
        query = query.where(h.withdrawn_at.is_(None), h.decision == state)
    return [_hit(r) for r in conn.execute(query)]


def _hit(row: Any) -> Hit:
    """A row as a hit, its times in UTC on either store (SQLite keeps them without a zone)."""
    hit = Hit(*row)
    return hit._replace(
        created_at=dialect.as_utc(hit.created_at),
        decided_at=dialect.as_utc(hit.decided_at) if hit.decided_at else None,
        withdrawn_at=dialect.as_utc(hit.withdrawn_at) if hit.withdrawn_at else None,
    )


def decide(
    conn: Connection, hit_id: str, decision: str, actor: str, note: str | None, now: datetime
) -> bool:
    """Record the decision once; False if the hit was decided or withdrawn meanwhile."""
    h = hits.c
    done = conn.execute(
        update(hits)
        .where(h.id == hit_id, h.decision.is_(None), h.withdrawn_at.is_(None))
        .values(decision=decision, decided_by=actor, decided_at=now, note=note)
    )
    return done.rowcount > 0


def as_dict(hit: Hit) -> dict[str, Any]:
    return {**hit._asdict(), "state": hit.state}
