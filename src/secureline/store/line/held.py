"""Alerts held for four-eyes review: their deliveries wait ``held`` until a second person
releases them (queued) or rejects them (refused for good, the envelopes gone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, delete, select, update

from secureline.store.database import Database
from secureline.store.messages import sent_content
from secureline.store.tables import deliveries, envelopes, messages


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
    author: str | None  # the username that composed it (messages.author)
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
            select(
                messages.c.id, messages.c.header_json, messages.c.author, deliveries.c.destination
            )
            .join(deliveries, deliveries.c.message_id == messages.c.id)
            .where(messages.c.id.in_(select(ids.c.message_id)), deliveries.c.state == "held")
            .order_by(messages.c.id, deliveries.c.destination)
        ).all()
    found: dict[str, HeldMessage] = {}
    for message_id, header_json, author, destination in rows:
        held = found.get(message_id) or HeldMessage(message_id, header_json, author, ())
        found[message_id] = held._replace(destinations=(*held.destinations, destination))
    return list(found.values())
