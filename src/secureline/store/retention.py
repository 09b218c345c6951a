"""Retention: review dates, the review queue, decisions, purges and tombstones.

One ``retention`` row per stored message that has a review date (messages with personal
data). Its ``state`` is ``scheduled`` (date not near), ``due`` (in the review queue),
``kept`` (an officer decided to keep it until ``review_date``) or ``purged``. A purge or a
correction leaves a ``tombstones`` row: what was removed (by digest), when, why and by whom.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from secureline.store import bulk, hits, search, taxii
from secureline.store.database import Database
from secureline.store.messages import SENT_FROM_HERE, sent_content, stored_content
from secureline.store.tables import (
    ID,
    NAME,
    SEQ,
    TS,
    deliveries,
    envelopes,
    messages,
    metadata,
)

SCHEDULED, DUE, KEPT, PURGED = "scheduled", "due", "kept", "purged"
#: delivery states after which the origin never sends the envelope again
_DONE = ("relayed", "delivered", "read", "refused")

retention = Table(
    "retention",
    metadata,
    Column("message_id", ID, ForeignKey("messages.id"), primary_key=True),
    Column("review_date", Date, nullable=False),
    Column("state", String(10), nullable=False),
    Column("queued_at", TS, nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("decided_at", TS, nullable=True),
    Index(None, "state", "review_date"),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("message_id", ID, nullable=False),
    # purged or corrected
    Column("event", String(10), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("origin_node", NAME, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("review_date", Date, nullable=True),
    # SHA-256 of the content that was removed or replaced (NULL when none was held)
    Column("content_digest", String(64), nullable=True),
    # the provider's deletion or correction message, when one caused it
    Column("by_message", ID, nullable=True),
    Column("recorded_at", TS, nullable=False),
    Index(None, "message_id"),
)


@dataclass(frozen=True)
class ReviewItem:
    message_id: str
    review_date: date
    state: str
    queued_at: datetime | None
    decided_by: str | None
    reason: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class Tombstone:
    seq: int
    message_id: str
    event: str
    reason: str
    actor: str
    origin_node: str
    created_at: datetime
    review_date: date | None
    content_digest: str | None
    by_message: str | None
    recorded_at: datetime


def schedule(conn: Connection, items: Sequence[tuple[str, date]]) -> None:
    """Give newly stored messages their review date."""
    bulk.insert_many(
        conn,
        "retention",
        ("message_id", "review_date", "state"),
        ((m, d, SCHEDULED) for m, d in items),
    )


def queue_due(conn: Connection, horizon: date, now: datetime) -> list[str]:
    """Move scheduled or kept items whose review date is on or before ``horizon`` to the
    review queue; returns their ids."""
    ids = list(
        conn.execute(
            select(retention.c.message_id).where(
                retention.c.state.in_((SCHEDULED, KEPT)), retention.c.review_date <= horizon
            )
        ).scalars()
    )
    if ids:
        conn.execute(
            update(retention)
            .where(retention.c.message_id.in_(ids))
            .values(state=DUE, queued_at=now)
        )
    return ids


def overdue(conn: Connection, today: date) -> list[str]:
    """Items in the queue whose review date has passed with no decision to keep them."""
    return list(
        conn.execute(
            select(retention.c.message_id)
            .where(retention.c.state == DUE, retention.c.review_date < today)
            .order_by(retention.c.review_date, retention.c.message_id)
        ).scalars()
    )


def review_items(db: Database, states: Sequence[str] = (DUE,)) -> list[ReviewItem]:
    with db.read() as conn:
        rows = conn.execute(
            select(retention)
            .where(retention.c.state.in_(tuple(states)))
            .order_by(retention.c.review_date, retention.c.message_id)
        ).all()
    return [ReviewItem(**r._mapping) for r in rows]


def get_item(conn: Connection, message_id: str) -> ReviewItem | None:
    row = conn.execute(select(retention).where(retention.c.message_id == message_id)).first()
    return ReviewItem(**row._mapping) if row else None


def keep(
    conn: Connection, message_id: str, until: date, actor: str, reason: str, now: datetime
) -> bool:
    result = conn.execute(
        update(retention)
        .where(retention.c.message_id == message_id, retention.c.state != PURGED)
        .values(
            state=KEPT,
            review_date=until,
            decided_by=actor,
            reason=reason,
            decided_at=now,
            queued_at=None,
        )
    )
    return result.rowcount > 0


def purge(
    conn: Connection,
    message_id: str,
    *,
    actor: str,
    reason: str,
    now: datetime,
    by_message: str | None = None,
) -> bool:
    """Remove a message's content (body, entities, attachments: the content text, the
    ciphertext and every envelope that carries them) and leave a tombstone. False when the
    message is unknown or was purged already."""
    replaced, item = _replace_content(
        conn, message_id, "purged", None, actor, reason, now, by_message, purged_at=now
    )
    if not replaced:
        return False
    done = select(deliveries.c.destination).where(
        deliveries.c.message_id == message_id, deliveries.c.state.in_(_DONE)
    )
    conn.execute(
        update(envelopes)
        .where(envelopes.c.message_id == message_id, envelopes.c.destination.in_(done))
        .values(envelope="")
    )
    if item is not None:
        conn.execute(
            update(retention)
            .where(retention.c.message_id == message_id)
            .values(state=PURGED, decided_by=actor, reason=reason, decided_at=now)
        )
    return True


def _replace_content(
    conn: Connection,
    message_id: str,
    kind: str,
    content_json: str | None,
    actor: str,
    reason: str,
    now: datetime,
    by_message: str | None,
    *,
    purged_at: datetime | None = None,
) -> tuple[bool, ReviewItem | None]:
    """Replace a stored message's content (None removes it) and leave the tombstone of what
    was there, kept by digest. Returns whether it did (not for an unknown or already purged
    message) and the message's review item, if it has one."""
    row = _unpurged(conn, message_id)
    if row is None:
        return False, None
    item = get_item(conn, message_id)
    values: dict[str, Any] = {"content_json": content_json, "content_jwe": None, "envelope": None}
    if purged_at is not None:
        values["purged_at"] = purged_at
    conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    # the index follows: a purged message is found no more, a corrected one by its new words
    if content_json is None:
        search.forget(conn, [message_id])
        taxii.forget(conn, [message_id])
    else:
        search.reindex(conn, message_id, content_json)
        taxii.reindex(conn, message_id, content_json)
    # and the index of holdings with its hits (a corrected message is cross-checked again)
    hits.content_replaced(conn, message_id, corrected=content_json is not None, now=now)
    conn.execute(
        insert(tombstones).values(
            message_id=message_id,
            event=kind,
            reason=reason,
            actor=actor,
            origin_node=row.origin_node,
            created_at=row.created_at,
            review_date=item.review_date if item else None,
            content_digest=_digest(_content(conn, message_id, row)),
            by_message=by_message,
            recorded_at=now,
        )
    )
    return True, item


def _content(conn: Connection, message_id: str, row: Any) -> str | None:
    """What the tombstone keeps the digest of: the content text, or its ciphertext."""
    if row.content_json is None and row.envelope is None and row.direction in SENT_FROM_HERE:
        return sent_content(conn, message_id)
    return stored_content(row.content_json, row.envelope) or row.content_jwe


def _unpurged(conn: Connection, message_id: str) -> Any:
    """The stored message's origin, content and dates, or None if unknown or purged."""
    row = conn.execute(
        select(
            messages.c.origin_node,
            messages.c.direction,
            messages.c.content_json,
            messages.c.content_jwe,
            messages.c.envelope,
            messages.c.created_at,
            messages.c.purged_at,
        ).where(messages.c.id == message_id)
    ).first()
    return None if row is None or row.purged_at is not None else row


def correct(
    conn: Connection,
    message_id: str,
    content_json: str,
    *,
    actor: str,
    reason: str,
    now: datetime,
    by_message: str,
) -> bool:
    """Replace a message's content with the provider's correction; the replaced content is
    recorded (by digest) as a tombstone. False when unknown or purged."""
    replaced, _ = _replace_content(
        conn, message_id, "corrected", content_json, actor, reason, now, by_message
    )
    return replaced


def tombstones_for(db: Database, message_id: str) -> list[Tombstone]:
    with db.read() as conn:
        rows = conn.execute(
            select(tombstones)
            .where(tombstones.c.message_id == message_id)
            .order_by(tombstones.c.seq)
        ).all()
    return [Tombstone(**r._mapping) for r in rows]


def _digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None
