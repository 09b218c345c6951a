"""Threads: the messages that answer, correct or retract others (``reply_to`` in their
header), as far as one unit may see them.

``reply_to`` lives in the stored header JSON, not in a column of its own: an expression index
reads it there (migration 0009t, the expression in store/dialect.py), and the query names the
same expression so that the engine answers from the index. What a unit may see is said here
in SQL, as ``Messaging.open`` says it: composed here by the unit, or delivered into its mailbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, or_, select

from secureline.store.database import Database
from secureline.store.dialect import reply_to_expression
from secureline.store.tables import mailbox, messages

#: the columns a thread shows: never the content or the envelopes
_COLUMNS = (
    messages.c.id,
    messages.c.direction,
    messages.c.header_json,
    messages.c.created_at,
    messages.c.read_at,
    messages.c.purged_at,
)


def _visible(unit: str, sender: str) -> ColumnElement[bool]:
    # EXISTS on (unit, message_id), the mailbox's unique index: a unit's whole mailbox is
    # never read for one thread (an IN list of it was 90 ms at 100,000 messages on SQLite)
    in_mailbox = (
        select(mailbox.c.seq)
        .where(mailbox.c.unit == unit, mailbox.c.message_id == messages.c.id)
        .exists()
    )
    return or_(
        and_(messages.c.direction == "out", messages.c.sender == sender),
        and_(messages.c.direction == "in", in_mailbox),
    )


def visible(db: Database, unit: str, sender: str, ids: Sequence[str]) -> list[Any]:
    """Those of ``ids`` that ``unit`` (which sends as ``sender``, unit@node) may open."""
    if not ids:
        return []
    query = select(*_COLUMNS).where(messages.c.id.in_(list(ids)), _visible(unit, sender))
    with db.read() as conn:
        return list(conn.execute(query).all())


def replies(db: Database, unit: str, sender: str, ids: Sequence[str], limit: int) -> list[Any]:
    """Messages ``unit`` may open whose header replies to one of ``ids``."""
    if not ids:
        return []
    reply_to: ColumnElement[str] = literal_column(reply_to_expression(db.engine.dialect.name))
    query = (
        select(*_COLUMNS)
        .where(reply_to.in_(list(ids)), _visible(unit, sender))
        .order_by(messages.c.created_at, messages.c.id)
        .limit(limit)
    )
    with db.read() as conn:
        return list(conn.execute(query).all())
