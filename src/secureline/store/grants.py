"""Permissions: the grants this node issued as a provider and the grants it received, and the
permission requests it refused.

A refusal is kept in the grants table (direction ``refused``), so that a request's decision,
granted or refused, is found in one place by its ``request_id``. Such a row is no permission
anywhere it could be read as one: its ``grant_json`` is the refusal (``{"refused": ...}``,
unsigned, so it never verifies as a grant) and its ``until`` is the time of the decision
(already past).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Index, String, Table, Text, insert, select

from secureline.store.database import Database
from secureline.store.tables import ID, NAME, TS, messages, metadata

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
    # issued: this node is the provider; received: it came in a permission-grant message;
    # refused: this node, the provider, refused the request (no grant: see the docstring)
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


def decision_for(conn: Connection, request_id: str) -> GrantRow | None:
    """The decision already taken on a permission request received here (a grant issued for
    it, or its refusal), or None. Locks the request first (its messages row, until the
    caller's transaction ends; SQLite's write transactions hold the file already), so that
    two workers deciding on the same request at once decide one after the other."""
    conn.execute(select(messages.c.id).where(messages.c.id == request_id).with_for_update())
    row = conn.execute(
        select(grants)
        .where(grants.c.request_id == request_id, grants.c.direction.in_(("issued", "refused")))
        .order_by(grants.c.stored_at)
        .limit(1)
    ).first()
    return GrantRow(**row._mapping) if row else None


def refuse_request(conn: Connection, refusal: GrantRow) -> GrantRow | None:
    """Record the provider's refusal of a request, unless the request was decided before:
    then nothing is written and that earlier decision is returned."""
    assert refusal.request_id is not None
    assert refusal.direction == "refused"
    earlier = decision_for(conn, refusal.request_id)
    if earlier is None:
        conn.execute(insert(grants), [refusal.__dict__])
    return earlier
