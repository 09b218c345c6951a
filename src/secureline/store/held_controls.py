"""A provider's deletion or correction that arrived before the message it names.

Two routes, or a retry after a restart, can bring a control message ahead of its original.
It is kept here, keyed by the original's id, until the original arrives: a held deletion
then refuses the original (it never enters the store), a held correction is applied to it in
the same transaction that stores it. ``settled_at`` marks a row done; the rows are few (one
per control that overtook its message) and stay as the record of what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Column, Connection, Index, String, Table, insert, select, update

from secureline.store.tables import ID, NAME, TS, metadata

held_controls = Table(
    "held_controls",
    metadata,
    Column("control_id", ID, primary_key=True),  # the deletion or correction message
    Column("original_id", ID, nullable=False),  # the message it names, not yet received
    Column("origin_node", NAME, nullable=False),  # the provider: only its original counts
    Column("kind", String(20), nullable=False),  # deletion | correction
    Column("created_at", TS, nullable=False),  # the control's own time: corrections apply in it
    Column("held_at", TS, nullable=False),
    Column("settled_at", TS, nullable=True),
    Index(None, "original_id"),
)


class HeldControl(NamedTuple):
    control_id: str
    original_id: str
    origin_node: str
    kind: str
    created_at: datetime
    held_at: datetime
    settled_at: datetime | None


def hold(conn: Connection, rows: Sequence[HeldControl]) -> None:
    if rows:
        conn.execute(insert(held_controls), [r._asdict() for r in rows])


def waiting_for(conn: Connection, original_ids: Sequence[str]) -> list[HeldControl]:
    """The unsettled controls naming any of ``original_ids``, oldest first."""
    if not original_ids:
        return []
    table = held_controls
    rows = conn.execute(
        select(table)
        .where(table.c.original_id.in_(original_ids), table.c.settled_at.is_(None))
        .order_by(table.c.created_at, table.c.control_id)
    ).all()
    return [HeldControl(*r) for r in rows]


def settle(conn: Connection, control_ids: Sequence[str], now: datetime) -> None:
    if control_ids:
        conn.execute(
            update(held_controls)
            .where(held_controls.c.control_id.in_(control_ids))
            .values(settled_at=now)
        )
