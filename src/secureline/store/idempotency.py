"""Idempotency keys: a client's retry of a creating call returns the first call's result.

The key row is written in the same transaction as what the call created, and its primary key
(who, key) makes the database the judge when two workers take the same retry at once: the
second insert fails, and the caller reads back the first one's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, String, Table, Text, insert, select

from secureline.store.database import Database
from secureline.store.tables import TS, metadata

#: A key is the client's: printable ASCII, at most this long (checked by the service).
KEY_MAX = 200

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(200), primary_key=True),  # the authenticated user's name
    Column("key", String(KEY_MAX), primary_key=True),
    Column("request_sha256", String(64), nullable=False),  # what was asked the first time
    Column("result_json", Text, nullable=False),  # what the first call answered
    Column("created_at", TS, nullable=False),
)


@dataclass(frozen=True)
class KeyRow:
    principal: str
    key: str
    request_sha256: str
    result_json: str
    created_at: datetime


def lookup(db: Database, principal: str, keys: Sequence[str]) -> dict[str, KeyRow]:
    """The stored rows among ``keys`` of ``principal``, by key."""
    if not keys:
        return {}
    table = idempotency_keys
    with db.read() as conn:
        rows = conn.execute(
            select(table).where(table.c.principal == principal, table.c.key.in_(keys))
        ).all()
    return {r.key: KeyRow(*r) for r in rows}


def remember(conn: Connection, rows: Sequence[KeyRow]) -> None:
    """Write the keys in the caller's transaction; a key already stored fails it whole."""
    if rows:
        conn.execute(insert(idempotency_keys), [r.__dict__ for r in rows])
