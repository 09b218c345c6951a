"""The index of holdings: entities this node holds, with the keys that find them.

A holding is one FollowTheMoney entity from one source: a bulk import (``source`` names the
file's source, e.g. ``national-register``) or, once the receive path calls
:func:`index_message`, a received message (``source`` = ``message:<id>``). Each keeps the
unit that may see it and its handling code. ``holding_keys`` holds the normalised keys the
matcher blocks on (``kind`` is ``id`` for a strong identifier, ``name`` for a name key); the
keys are computed by ``services/matching`` and stored as they are, so the same query finds the
same candidates on SQLite and PostgreSQL: plain equality on strings and a ``GROUP BY``.

Re-importing the same ``(source, entity_id)`` replaces the row and its keys: the import is
idempotent. Every function here runs in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    Column,
    Connection,
    Index,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    tuple_,
)

from secureline.store import bulk
from secureline.store.tables import ID, NAME, TS, metadata

#: an FtM entity id may be long (hash-derived ids are 40 hex, some sources use URLs)
ENTITY_ID = String(200)
#: a key: ``<class>:<normalised value>``, or ``<kind>:<token key>`` for names
KEY = String(160)

holdings = Table(
    "holdings",
    metadata,
    Column("key", ID, primary_key=True),  # sha256(source, entity_id): stable across re-imports
    Column("source", String(120), nullable=False),
    Column("entity_id", ENTITY_ID, nullable=False),
    Column("schema", String(40), nullable=False),
    Column("caption", String(300), nullable=False),
    Column("unit", NAME, nullable=False),  # the unit that holds it and may see it
    Column("handling", String(2), nullable=False),  # H0..H3, as the provider marked it
    Column("message_id", ID, nullable=True),  # set for a received message's entities
    Column("entity_json", Text, nullable=False),
    Column("indexed_at", TS, nullable=False),
    Index(None, "source"),
    Index(None, "message_id"),
)

holding_keys = Table(
    "holding_keys",
    metadata,
    Column("holding", ID, nullable=False),
    Column("kind", String(8), nullable=False),  # id | name
    Column("value", KEY, nullable=False),
    Index(None, "kind", "value"),
    Index(None, "holding"),
)


class Holding(NamedTuple):
    key: str
    source: str
    entity_id: str
    schema: str
    caption: str
    unit: str
    handling: str
    message_id: str | None
    entity_json: str
    indexed_at: datetime


class Candidate(NamedTuple):
    holding: str
    shared: int  # how many of the query's keys it shares


def holding_key(source: str, entity_id: str) -> str:
    """The row's key: the same (source, entity id) is the same holding at every import."""
    return hashlib.sha256(f"{source}\0{entity_id}".encode()).hexdigest()


def put(
    conn: Connection,
    rows: Sequence[Holding],
    keys: Iterable[tuple[str, str, str]],
) -> None:
    """Insert or replace ``rows`` and their ``keys`` (holding, kind, value)."""
    if not rows:
        return
    ids = [r.key for r in rows]
    _remove(conn, ids)
    bulk.insert_many(conn, "holdings", Holding._fields, rows)
    bulk.insert_many(conn, "holding_keys", ("holding", "kind", "value"), keys)


def _remove(conn: Connection, ids: Sequence[str]) -> None:
    for start in range(0, len(ids), bulk.SELECT_CHUNK):
        chunk = ids[start : start + bulk.SELECT_CHUNK]
        conn.execute(delete(holding_keys).where(holding_keys.c.holding.in_(chunk)))
        conn.execute(delete(holdings).where(holdings.c.key.in_(chunk)))


def remove_message(conn: Connection, message_id: str) -> int:
    """Remove every holding indexed from ``message_id`` (retracted, purged, corrected)."""
    ids = list(
        conn.execute(select(holdings.c.key).where(holdings.c.message_id == message_id)).scalars()
    )
    _remove(conn, ids)
    return len(ids)


def candidates(
    conn: Connection, keys: Sequence[tuple[str, str]], units: Sequence[str] | None, limit: int
) -> list[Candidate]:
    """The holdings sharing any of ``keys`` (kind, value), most shared first, seen by
    ``units`` (None: every unit)."""
    if not keys:
        return []
    k, h = holding_keys.c, holdings.c
    shared = func.count().label("shared")
    query = (
        select(k.holding, shared)
        .where(tuple_(k.kind, k.value).in_(sorted(set(keys))))
        .group_by(k.holding)
        .order_by(shared.desc(), k.holding)
        .limit(limit)
    )
    if units is not None:
        query = query.join(holdings, h.key == k.holding).where(h.unit.in_(sorted(units)))
    return [Candidate(r.holding, int(r.shared)) for r in conn.execute(query)]


def fetch(conn: Connection, ids: Sequence[str]) -> list[Holding]:
    found: list[Holding] = []
    for start in range(0, len(ids), bulk.SELECT_CHUNK):
        chunk = ids[start : start + bulk.SELECT_CHUNK]
        rows = conn.execute(select(holdings).where(holdings.c.key.in_(chunk)))
        found += [Holding(*r) for r in rows]
    return found


def count(conn: Connection, source: str | None = None) -> int:
    query = select(func.count()).select_from(holdings)
    if source is not None:
        query = query.where(holdings.c.source == source)
    return int(conn.execute(query).scalar_one())
