"""Permissions: the grants this node issued as a provider and the grants it received."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Index, String, Table, Text, insert, select

from secureline.store.database import Database
from secureline.store.tables import ID, NAME, TS, metadata

grants = Table(
    "grants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("message_id", ID, nullable=False),
    Column("provider", String(130), nullable=False),
    Column("grantee", NAME, nullable=False),
    Column("scope", String(20), nullable=False),
    Column("purpose", String(500), nullable=True),
    Column("until", TS, nullable=False),
    # The grant exactly as signed and sent: JSON with its JWS ``signature``.
    Column("grant_json", Text, nullable=False),
    # issued: this node is the provider; received: it came in a permission-grant message
    Column("direction", String(8), nullable=False),
    Column("request_id", ID, nullable=True),
    # the permission-grant message that carried it
    Column("carrier_id", ID, nullable=True),
    Column("stored_at", TS, nullable=False),
    Index(None, "message_id"),
)


@dataclass(frozen=True)
class GrantRow:
    id: str
    message_id: str
    provider: str
    grantee: str
    scope: str
    purpose: str | None
    until: datetime
    grant_json: str
    direction: str
    request_id: str | None
    carrier_id: str | None
    stored_at: datetime


def save_grants(conn: Connection, rows: Sequence[GrantRow]) -> None:
    """Store grants; one already stored under the same id is kept as it was."""
    if not rows:
        return
    ids = [r.id for r in rows]
    known = set(conn.execute(select(grants.c.id).where(grants.c.id.in_(ids))).scalars())
    fresh = [r.__dict__ for r in rows if r.id not in known]
    if fresh:
        conn.execute(insert(grants), fresh)


def list_grants(
    db: Database, *, message_id: str | None = None, direction: str | None = None
) -> list[GrantRow]:
    query = select(grants)
    if message_id is not None:
        query = query.where(grants.c.message_id == message_id)
    if direction is not None:
        query = query.where(grants.c.direction == direction)
    with db.read() as conn:
        rows = conn.execute(query.order_by(grants.c.stored_at, grants.c.id)).all()
    return [GrantRow(**r._mapping) for r in rows]
