"""Messages and mailboxes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Select, func, select, update

from secureline.crypto.encoding import b64url_decode
from secureline.store import bulk, search, taxii
from secureline.store.database import Database
from secureline.store.dialect import as_utc
from secureline.store.paging import Keyset, Page, newest_first
from secureline.store.tables import deliveries, envelopes, evidence, mailbox, messages


class MessageRow(NamedTuple):
    """A messages row. Rows are tuples: one is built per message crossing the node, and a
    tuple takes less than half the time of a frozen dataclass to make."""

    id: str
    direction: str
    sender: str
    origin_node: str
    header_json: str
    #: NULL in the store while ``envelope`` carries the content in the clear: each
    #: envelope's bytes are kept once, and the content is read out of them (``loaded``).
    content_json: str | None
    content_jwe: str | None
    envelope: str | None
    created_at: datetime
    stored_at: datetime
    read_at: datetime | None = None
    purged_at: datetime | None = None
    #: the username that composed it, for messages composed here (``0009a``)
    author: str | None = None


_MESSAGE_COLUMNS = MessageRow._fields
#: Messages whose envelopes are in ``envelopes`` (composed here, or relayed on), not in the row.
SENT_FROM_HERE = ("out", "relay")


def content_in_envelope(envelope: str) -> str | None:
    """The content text a stored envelope carries in the clear (None for a ciphertext).

    The envelope was verified when it arrived and is stored as it came, so its payload is
    read without verifying again; the content is the exact text the origin signed (a JSON
    string in the payload, which decodes to those characters and no others)."""
    payload = envelope.split(".", 2)[1]
    content = orjson.loads(b64url_decode(payload)).get("content")
    return content if isinstance(content, str) else None


def stored_content(content_json: str | None, envelope: str | None) -> str | None:
    """A message's content as the store holds it: its own column, else its envelope's
    (purging and correcting clear the envelope, so a purged message stays without)."""
    if content_json is None and envelope:
        return content_in_envelope(envelope)
    return content_json


def loaded(values: Any, conn: Connection | None = None) -> MessageRow:
    """A messages row as read, its content taken from its envelope where it is kept there:
    the row's own (received here) or, for a message composed or relayed here, one of its
    signed envelopes in ``envelopes`` (read through ``conn``)."""
    row = MessageRow(**values)
    if row.content_json is not None or row.purged_at is not None:
        return row
    if row.envelope:
        return row._replace(content_json=content_in_envelope(row.envelope))
    if row.direction in SENT_FROM_HERE and conn is not None:
        return row._replace(content_json=sent_content(conn, row.id))
    return row


def sent_content(conn: Connection, message_id: str) -> str | None:
    """The content of a message this node sent or relays, from the first of its envelopes
    that carries it (each carries the same text; a purged delivery's envelope is empty)."""
    envelope = conn.execute(
        select(envelopes.c.envelope)
        .where(envelopes.c.message_id == message_id, envelopes.c.envelope != "")
        .limit(1)
    ).scalar()
    return content_in_envelope(envelope) if envelope else None


def insert_messages(
    conn: Connection, rows: Sequence[MessageRow], contents: Mapping[str, str] | None = None
) -> None:
    """Store new messages and index them for search in the same transaction (so that every
    worker on one store finds what any of them stored). ``contents``: the content of a
    message composed here that keeps it only in the envelopes written after it."""
    bulk.insert_many(
        conn,
        "messages",
        _MESSAGE_COLUMNS,
        rows,
    )
    _index(conn, rows, contents or {})


def _index(conn: Connection, rows: Sequence[MessageRow], contents: Mapping[str, str]) -> None:
    """The search index and the TAXII object index, from one reading of each content."""
    found = list(_searchable(rows, contents))
    search.index(conn, found)
    stored = {r.id: r.stored_at for r in rows}
    taxii.index(conn, ((*row, stored[row[0]]) for row in found))


def replace_messages(conn: Connection, rows: Sequence[MessageRow]) -> None:
    """Overwrite stored rows (same ids) with these, e.g. a relay copy with the copy that was
    delivered here (indexed from now on: nothing of a relayed message is)."""
    for row in rows:
        values = {k: v for k, v in row._asdict().items() if k != "id"}
        conn.execute(update(messages).where(messages.c.id == row.id).values(**values))
    if rows:
        search.forget(conn, [r.id for r in rows])
        taxii.forget(conn, [r.id for r in rows])
        _index(conn, rows, {})


def _searchable(
    rows: Sequence[MessageRow], contents: Mapping[str, str]
) -> Iterator[tuple[str, str, str, str | None]]:
    for row in rows:
        if row.direction not in ("in", "out"):
            continue  # relayed: nobody here may read it
        content = row.content_json or contents.get(row.id)
        if content is None and row.envelope:
            content = content_in_envelope(row.envelope)
        yield row.id, row.direction, row.header_json, content


def add_to_mailboxes(conn: Connection, entries: Sequence[tuple[str, str]], now: datetime) -> None:
    """``entries`` are (unit, message_id) pairs."""
    bulk.insert_many(
        conn, "mailbox", ("unit", "message_id", "added_at"), ((u, m, now) for u, m in entries)
    )


def existing_ids(conn: Connection, ids: Iterable[str]) -> dict[str, str]:
    """Which of ``ids`` are already stored here, with their direction."""
    rows = bulk.select_in(conn, "messages", ("id", "direction"), "id", ids)
    return {row[0]: row[1] for row in rows}


def get_message(db: Database, message_id: str) -> MessageRow | None:
    with db.read() as conn:
        row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
        return loaded(row._mapping, conn) if row else None


def mark_read(conn: Connection, message_id: str, now: datetime) -> bool:
    """Set the first-read time; True only for the first opening."""
    result = conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.read_at.is_(None))
        .values(read_at=now)
    )
    return result.rowcount > 0


def received_by(db: Database, unit: str, message_id: str) -> MessageRow | None:
    """The message as delivered here to ``unit``'s inbox, or None (unknown, sent from here,
    relayed, or addressed to another unit): what a member of ``unit`` may open."""
    with db.read() as conn:
        row = conn.execute(
            select(messages)
            .join(mailbox, mailbox.c.message_id == messages.c.id)
            .where(
                messages.c.id == message_id,
                messages.c.direction == "in",
                mailbox.c.unit == unit,
            )
        ).first()
    return loaded(row._mapping) if row else None


def in_mailbox(db: Database, unit: str, message_id: str) -> bool:
    with db.read() as conn:
        row = conn.execute(
            select(mailbox.c.seq).where(mailbox.c.unit == unit, mailbox.c.message_id == message_id)
        ).first()
    return row is not None


def mailbox_page(
    db: Database, unit: str, after: int, limit: int, header_has: str | None = None
) -> list[tuple[int, MessageRow]]:
    """A page of a unit's inbox in arrival order; ``after`` is the last seq already seen.
    ``header_has``: only messages whose stored header JSON holds this text (a cheap first
    filter, e.g. on a kind, that the caller confirms on the parsed header)."""
    query = _mailbox(select(mailbox.c.seq, messages), unit, after, limit, header_has)
    with db.read() as conn:
        rows = conn.execute(query).all()
    result = []
    for row in rows:
        data: dict[str, Any] = dict(row._mapping)
        seq = data.pop("seq")
        result.append((seq, loaded(data)))
    return result


def mailbox_headers(db: Database, unit: str, after: int, limit: int) -> list[tuple[int, str]]:
    """:func:`mailbox_page` as (seq, header JSON): a listing reads neither the envelopes nor
    the content out of them."""
    query = _mailbox(select(mailbox.c.seq, messages.c.header_json), unit, after, limit, None)
    with db.read() as conn:
        return [(seq, header) for seq, header in conn.execute(query).all()]


def _mailbox(
    query: Select[Any], unit: str, after: int, limit: int, header_has: str | None
) -> Select[Any]:
    query = query.join(messages, messages.c.id == mailbox.c.message_id).where(
        mailbox.c.unit == unit, mailbox.c.seq > after
    )
    if header_has is not None:
        query = query.where(messages.c.header_json.contains(header_has, autoescape=True))
    return query.order_by(mailbox.c.seq).limit(limit)


@dataclass(frozen=True)
class DeliveryState:
    destination: str
    next_hop: str
    state: str
    reason_code: str | None
    reason_text: str | None
    refused_by: str | None
    updated_at: datetime


@dataclass(frozen=True)
class EvidenceRow:
    kind: str
    issuer: str
    destination: str | None
    reason_code: str | None
    reason_text: str | None
    issued_at: datetime
    token_id: str


def delivery_states(db: Database, message_id: str) -> list[DeliveryState]:
    with db.read() as conn:
        rows = conn.execute(
            select(
                deliveries.c.destination,
                deliveries.c.next_hop,
                deliveries.c.state,
                deliveries.c.reason_code,
                deliveries.c.reason_text,
                deliveries.c.refused_by,
                deliveries.c.updated_at,
            )
            .where(deliveries.c.message_id == message_id)
            .order_by(deliveries.c.destination)
        ).all()
    return [DeliveryState(*r) for r in rows]


def evidence_for(db: Database, message_id: str) -> list[EvidenceRow]:
    with db.read() as conn:
        rows = conn.execute(
            select(
                evidence.c.kind,
                evidence.c.issuer,
                evidence.c.destination,
                evidence.c.reason_code,
                evidence.c.reason_text,
                evidence.c.issued_at,
                evidence.c.token_id,
            )
            .where(evidence.c.message_id == message_id)
            .order_by(evidence.c.seq)
        ).all()
    return [EvidenceRow(*r) for r in rows]


def count_messages(db: Database, direction: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(func.count()).where(messages.c.direction == direction)).scalar_one()
        )


class Listed(NamedTuple):
    """A message as a list shows it: a page reads the header alone, never the envelope or
    the content (``created_at`` is the sent list's key)."""

    id: str
    header_json: str
    read_at: datetime | None
    created_at: datetime


_LISTED = (messages.c.id, messages.c.header_json, messages.c.read_at, messages.c.created_at)


def mailbox_listing(
    db: Database, unit: str, keyset: Keyset[int], limit: int
) -> Page[tuple[int, Listed], int]:
    """A page of a unit's mailbox, newest first, each row with its mailbox ``seq``: the key
    of the page (store/paging.py), the API inbox's ``cursor`` too."""
    query = (
        select(mailbox.c.seq, *_LISTED)
        .join(messages, messages.c.id == mailbox.c.message_id)
        .where(mailbox.c.unit == unit)
    )
    with db.read() as conn:

        def run(page: Select[Any]) -> list[tuple[int, Listed]]:
            return [(r[0], Listed(*r[1:])) for r in conn.execute(page).all()]

        return newest_first(run, query, [mailbox.c.seq], keyset, limit, lambda r: r[0])


def unread_count(db: Database, unit: str) -> int:
    query = (
        select(func.count())
        .select_from(mailbox.join(messages, messages.c.id == mailbox.c.message_id))
        .where(mailbox.c.unit == unit, messages.c.read_at.is_(None))
    )
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


SentKey = tuple[datetime, str]


def sent_listing(
    db: Database, sender: str, keyset: Keyset[SentKey], limit: int
) -> Page[Listed, SentKey]:
    """A page of what ``sender`` composed here, newest first, by ``(created_at, id)``
    (read from the index of migration 0010p)."""
    m = messages.c
    query = select(*_LISTED).where(m.sender == sender, m.direction == "out")
    with db.read() as conn:

        def run(page: Select[Any]) -> list[Listed]:
            return [Listed(*r) for r in conn.execute(page).all()]

        return newest_first(
            run, query, [m.created_at, m.id], keyset, limit, lambda r: (as_utc(r.created_at), r.id)
        )


def delivery_states_of(db: Database, message_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each message's delivery states, one per destination (for a list: no reasons)."""
    if not message_ids:
        return {}
    query = (
        select(deliveries.c.message_id, deliveries.c.state)
        .where(deliveries.c.message_id.in_(list(message_ids)))
        .order_by(deliveries.c.message_id, deliveries.c.destination)
    )
    found: dict[str, list[str]] = {}
    with db.read() as conn:
        for message_id, state in conn.execute(query).all():
            found.setdefault(message_id, []).append(state)
    return found
