"""The STIX object index the TAXII server reads: one ``stix_objects`` row per STIX object of
a stored message's STIX document, written in the transaction that stores the message (and
removed by a purge, rewritten by a correction), as the search index is (store/search.py).

A row keeps the object as the bundle carried it, with what TAXII pages and filters on: its
id, type and version (``modified``, else ``created``, else the date it was added), the date it
was added here, and what decides who may see it: the message's direction, sender and crime
area. Who may see a row is the search index's rule (:func:`search.readable_by`), asked
inside the query, so that a forbidden object never reaches a page, a manifest or a count.

Not indexed, as for search: relayed messages (nobody here may read them), control messages,
H3 messages (their content shows only behind their conditions, which TAXII cannot ask).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    and_,
    delete,
    exists,
    insert,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from secureline.store import search
from secureline.store.database import Database
from secureline.store.tables import ID, SEQ, TS, messages, metadata

stix_objects = Table(
    "stix_objects",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("object_id", String(300), nullable=False),
    Column("type", String(250), nullable=False),
    Column("version", TS, nullable=False),
    Column("date_added", TS, nullable=False),
    Column("message_id", ID, ForeignKey("messages.id"), nullable=False),
    Column("direction", String(5), nullable=False),
    Column("sender", String(130), nullable=False),
    Column("crime_area", String(40), nullable=False),
    Column("object_json", Text, nullable=False),
    Index(None, "date_added", "seq"),
    Index(None, "object_id", "version"),
    Index(None, "message_id"),
)

#: The document format whose objects are indexed (domain/document.py's STIX bundle).
STIX_FORMAT = "stix-2.1-bundle"
_NOT_INDEXED_KINDS = search.NOT_INDEXED_KINDS


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def rows_of(
    message_id: str, direction: str, header_json: str, content_json: str | None, added: datetime
) -> list[dict[str, Any]]:
    """The index rows of a stored message: none unless it carries a STIX document here."""
    if direction not in ("in", "out") or content_json is None:
        return []
    header = orjson.loads(header_json)
    if not isinstance(header, dict) or header.get("kind") in _NOT_INDEXED_KINDS:
        return []
    if header.get("handling") == "H3" or "sender" not in header:
        return []
    content = orjson.loads(content_json)
    document = content.get("document") if isinstance(content, dict) else None
    if not isinstance(document, dict) or document.get("format") != STIX_FORMAT:
        return []
    rows = []
    for obj in (document.get("data") or {}).get("objects") or ():
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            continue
        version = _timestamp(obj.get("modified")) or _timestamp(obj.get("created")) or added
        rows.append(
            {
                "object_id": obj["id"],
                "type": str(obj.get("type", "")),
                "version": version,
                "date_added": added,
                "message_id": message_id,
                "direction": direction,
                "sender": str(header["sender"]),
                "crime_area": str(header.get("crime_area", "")),
                "object_json": orjson.dumps(obj).decode(),
            }
        )
    return rows


def index(conn: Connection, rows: Iterable[tuple[str, str, str, str | None, datetime]]) -> None:
    """Index newly stored messages, each ``(id, direction, header_json, content_json,
    stored_at)`` (store/messages.py calls it in the transaction that inserts them)."""
    found = [r for row in rows for r in rows_of(*row)]
    if found:
        conn.execute(insert(stix_objects), found)


def forget(conn: Connection, message_ids: Sequence[str]) -> None:
    """Remove messages' objects (purged, or about to be indexed again)."""
    if message_ids:
        conn.execute(delete(stix_objects).where(stix_objects.c.message_id.in_(list(message_ids))))


def reindex(conn: Connection, message_id: str, content_json: str | None) -> None:
    """Index a stored message again with this content (a correction), or without any."""
    forget(conn, [message_id])
    row = conn.execute(
        select(messages.c.direction, messages.c.header_json, messages.c.stored_at).where(
            messages.c.id == message_id
        )
    ).first()
    if row is not None:
        index(conn, [(message_id, row.direction, row.header_json, content_json, row.stored_at)])


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose objects a query may return: those a message held for the collection's unit
    carries, in its crime area (None: any), that the reader's unit may also read."""

    node: str
    collection_unit: str
    crime_area: str | None
    reader_unit: str


@dataclass(frozen=True)
class Filter:
    added_after: datetime | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    #: "last", "first", "all", or versions (timestamps)
    version: str = "last"
    versions: tuple[datetime, ...] = ()
    after: tuple[datetime, int] | None = None  # the keyset cursor: (date_added, seq)
    limit: int = 100


class ObjectRow(NamedTuple):
    seq: int
    object_id: str
    version: datetime
    date_added: datetime
    message_id: str
    object_json: str


def _in_scope(t: Any, scope: Scope) -> ColumnElement[bool]:
    held = search.readable_by(
        scope.collection_unit,
        f"{scope.collection_unit}@{scope.node}",
        message_id=t.c.message_id,
        direction=t.c.direction,
        sender=t.c.sender,
    )
    readable = search.readable_by(
        scope.reader_unit,
        f"{scope.reader_unit}@{scope.node}",
        message_id=t.c.message_id,
        direction=t.c.direction,
        sender=t.c.sender,
    )
    conditions = [held, readable]
    if scope.crime_area is not None:
        conditions.append(t.c.crime_area == scope.crime_area)
    return and_(*conditions)


def _one_per_version(scope: Scope, which: str) -> ColumnElement[bool]:
    """No other row in scope is the chosen one of this object: the first stored of each
    version (a version two messages carry is listed once), and for ``last`` or ``first`` no
    later or earlier version."""
    o = stix_objects
    other = stix_objects.alias("other")
    same_version_earlier = and_(other.c.version == o.c.version, other.c.seq < o.c.seq)
    if which == "last":
        beats = or_(other.c.version > o.c.version, same_version_earlier)
    elif which == "first":
        beats = or_(other.c.version < o.c.version, same_version_earlier)
    else:
        beats = same_version_earlier
    return ~exists().where(other.c.object_id == o.c.object_id, beats, _in_scope(other, scope))


def objects(db: Database, scope: Scope, wanted: Filter) -> tuple[list[ObjectRow], bool]:
    """A page of the objects in scope, in the order they were added (then stored), and
    whether more follow; one snapshot."""
    o = stix_objects.c
    conditions = [_in_scope(stix_objects, scope), _one_per_version(scope, wanted.version)]
    if wanted.added_after is not None:
        conditions.append(o.date_added > wanted.added_after)
    if wanted.ids:
        conditions.append(o.object_id.in_(wanted.ids))
    if wanted.types:
        conditions.append(o.type.in_(wanted.types))
    if wanted.versions:
        conditions.append(o.version.in_(wanted.versions))
    if wanted.after is not None:
        at, seq = wanted.after
        conditions.append(or_(o.date_added > at, and_(o.date_added == at, o.seq > seq)))
    query = (
        select(o.seq, o.object_id, o.version, o.date_added, o.message_id, o.object_json)
        .where(*conditions)
        .order_by(o.date_added, o.seq)
        .limit(wanted.limit + 1)
    )
    with db.read() as conn:
        rows = [ObjectRow(*r) for r in conn.execute(query)]
    return rows[: wanted.limit], len(rows) > wanted.limit


def headers_of(db: Database, message_ids: Sequence[str]) -> dict[str, str]:
    """The header JSON of these messages (the markings of the objects they carry)."""
    if not message_ids:
        return {}
    with db.read() as conn:
        found = conn.execute(
            select(messages.c.id, messages.c.header_json).where(
                messages.c.id.in_(list(message_ids))
            )
        )
        return {r.id: r.header_json for r in found}
