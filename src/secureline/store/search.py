"""The search index: one ``search_docs`` row per message a person here may search, written in
the transaction that stores the message (and rewritten by a correction, removed by a purge).

Both engines index the same words: the text is reduced here, before either engine sees it,
to lower-case letters and digits separated by single spaces (accents removed, every other
character a separator), so SQLite's FTS5 tokenizer and PostgreSQL's ``simple`` parser cut
it into the same tokens and a query finds the same messages on either store. What differs
lives in migration ``0009s`` and in :func:`_matches`, and nowhere else:

- SQLite: ``search_fts``, an FTS5 table over ``search_docs.words`` (external content, no
  second copy of the text), kept in step by triggers on ``search_docs``;
- PostgreSQL: a generated ``tsvector`` column ``words_tsv`` with a GIN index.

Who may see a row is not decided here: the caller names the unit and its sender address
(services/search.py), and a query returns only the messages in that unit's mailbox or sent
by it. A relayed message is never indexed (nobody here may read it), nor a deletion or a
correction (control messages: their effect is on the original, which is re-indexed). An H3
message is indexed by its header only: its content is shown only behind its conditions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Select,
    String,
    Table,
    Text,
    and_,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from secureline.store.database import Database
from secureline.store.paging import Keyset, newest_first
from secureline.store.tables import ID, SEQ, TS, mailbox, messages, metadata

search_docs = Table(
    "search_docs",
    metadata,
    # the FTS5 table's rowid on SQLite
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("message_id", ID, ForeignKey("messages.id"), nullable=False, unique=True),
    Column("direction", String(5), nullable=False),
    Column("sender", String(130), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("crime_area", String(40), nullable=False),
    Column("handling", String(4), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("words", Text, nullable=False),
    Index(None, "sender", "created_at"),
    Index(None, "created_at"),
)

#: What the migration adds beside ``search_docs`` for one engine, unknown to ``metadata``:
#: the comparison of models and migrations leaves these out (tests/unit/store).
ENGINE_OBJECTS = ("search_fts", "words_tsv", "ix_search_docs_words_tsv")
#: Kinds never indexed: their effect is on the original message.
NOT_INDEXED_KINDS = frozenset({"deletion", "correction"})
#: Bounds on what is indexed and asked: a message's words, a query's tokens.
MAX_WORDS_CHARS = 64 * 1024
MAX_QUERY_TOKENS = 8
MAX_TOKEN_CHARS = 64
_HEADER_FIELDS = frozenset({"sender", "kind", "crime_area", "handling", "created_at"})
_SEPARATORS = re.compile(r"[\W_]+")
_ASCII_SEPARATORS = bytes(c if chr(c).isalnum() else 0x20 for c in range(256))


def words(value: str) -> str:
    """``value`` as the index holds it: lower-case letters and digits, one space between."""
    folded = value.casefold()
    if folded.isascii():
        # The common case, on the line's hot path: a byte table does what the pattern below
        # does, some ten times faster.
        return " ".join(folded.encode().translate(_ASCII_SEPARATORS).decode().split())
    decomposed = unicodedata.normalize("NFKD", folded)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", bare).strip()


def tokens(query: str) -> list[str]:
    """A query's words (bounded in number and length): each matches a word, the last also
    the beginning of one."""
    return [t[:MAX_TOKEN_CHARS] for t in words(query).split()[:MAX_QUERY_TOKENS]]


def is_engine_object(name: str | None) -> bool:
    """Whether a reflected table, column or index is the engine's part of the index."""
    return name is not None and name.startswith(ENGINE_OBJECTS)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object``: compare everything but the engine's part of the index
    (FTS5's tables, the ``tsvector`` column and its index), which no model declares."""
    return not (reflected and compare_to is None and is_engine_object(name))


# --- writing ---------------------------------------------------------------------------


def document(
    message_id: str, direction: str, header_json: str, content_json: str | None
) -> dict[str, Any] | None:
    """The index row of a stored message, or None when it is not indexed."""
    if direction not in ("in", "out"):
        return None
    header = orjson.loads(header_json)
    if not isinstance(header, dict) or not header.keys() >= _HEADER_FIELDS:
        return None  # not a header this node stored (a test's or a damaged row): not found
    if header["kind"] in NOT_INDEXED_KINDS:
        return None
    parts = [str(header.get("subject") or ""), str(header.get("case_ref") or "")]
    if content_json is not None and header.get("handling") != "H3":
        parts += _content_text(orjson.loads(content_json))
    text = " ".join(words(p) for p in parts if p)
    return {
        "message_id": message_id,
        "direction": direction,
        "sender": str(header["sender"]),
        "kind": str(header["kind"]),
        "crime_area": str(header["crime_area"]),
        "handling": str(header["handling"]),
        "created_at": datetime.fromisoformat(header["created_at"]),
        "words": text[:MAX_WORDS_CHARS],
    }


def _content_text(content: Mapping[str, Any]) -> list[str]:
    """The body, every value of every entity's properties (names and identifiers alike) and
    the attachments' names."""
    parts = [str(content.get("body") or "")]
    for entity in content.get("entities") or ():
        for values in (entity.get("properties") or {}).values():
            parts += [v for v in values if isinstance(v, str)]
    parts += [str(a.get("name") or "") for a in content.get("attachments") or ()]
    return parts


def index(conn: Connection, rows: Iterable[tuple[str, str, str, str | None]]) -> None:
    """Index newly stored messages, each ``(id, direction, header_json, content_json)``
    (``store/messages.py`` calls it in the transaction that inserts them)."""
    docs = [d for d in (document(*row) for row in rows) if d is not None]
    if docs:
        conn.execute(insert(search_docs), docs)


def forget(conn: Connection, message_ids: Sequence[str]) -> None:
    """Remove messages from the index (purged, or about to be indexed again)."""
    if message_ids:
        conn.execute(delete(search_docs).where(search_docs.c.message_id.in_(list(message_ids))))


def reindex(conn: Connection, message_id: str, content_json: str | None) -> None:
    """Index a stored message again with this content (a correction), or without any."""
    forget(conn, [message_id])
    row = conn.execute(
        select(messages.c.direction, messages.c.header_json).where(messages.c.id == message_id)
    ).first()
    if row is not None:
        doc = document(message_id, row.direction, row.header_json, content_json)
        if doc is not None:
            conn.execute(insert(search_docs), [doc])


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A search, already bounded by the service: ``unit`` and ``sender_address`` say whose
    messages it may return (the unit's mailbox, and what it sent from here)."""

    unit: str
    sender_address: str
    tokens: tuple[str, ...] = ()
    sender: str | None = None
    crime_area: str | None = None
    handling: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0  # the API's older paging; a keyset (by seq) is what pages should use
    keyset: Keyset[int] = field(default_factory=Keyset)


class Hit(NamedTuple):
    id: str
    direction: str
    header_json: str
    read_at: datetime | None
    seq: int = 0  # the index's, the key of the page (store/paging.py)


@dataclass(frozen=True)
class Found:
    hits: list[Hit]
    total: int  # up to MAX_COUNTED + 1, which means "more than MAX_COUNTED"
    older: int | None = None  # the keys of the pages on either side, None where none
    newer: int | None = None


def search(db: Database, query: Query) -> Found:
    """The matching messages the unit may see, the last stored first, and how many there are
    (counted up to :data:`MAX_COUNTED`; one snapshot for both)."""
    with db.read() as conn:
        return _search(conn, query)


#: A total past this is given as "more than": counting every match of a common word would
#: cost as much as reading them all, for a figure nobody reads to the unit.
MAX_COUNTED = 1000
_fts = table("search_fts", column("rowid"))


def _search(conn: Connection, query: Query) -> Found:
    d = search_docs.c
    conditions: list[ColumnElement[bool]] = [_visible(query)]
    source: Any = search_docs
    # Newest stored first, the inbox's order: on SQLite, in the FTS index's own rowid order
    # (search_docs.seq), so that a page reads its matches from the newest on and stops at the
    # page's end instead of sorting every match first.
    key: Any = d.seq  # the page's key too (store/paging.py)
    if query.tokens:
        conditions.append(_matches(conn, query.tokens))
        if conn.dialect.name == "sqlite":
            source = _fts.join(search_docs, d.seq == _fts.c.rowid)
            key = _fts.c.rowid
    for column_, value in (
        (d.sender, query.sender),
        (d.crime_area, query.crime_area),
        (d.handling, query.handling),
        (d.kind, query.kind),
    ):
        if value is not None:
            conditions.append(column_ == value)
    if query.since is not None:
        conditions.append(d.created_at >= query.since)
    if query.until is not None:
        conditions.append(d.created_at < query.until)
    where = and_(*conditions)
    page = select(d.message_id, key.label("key")).select_from(source).where(where)
    if query.offset:
        page = page.offset(query.offset)

    def run(keys: Select[Any]) -> list[tuple[str, int]]:
        return [(message_id, seq) for message_id, seq in conn.execute(keys).all()]

    found = newest_first(run, page, [key], query.keyset, query.limit, lambda r: r[1])
    m = messages.c
    seqs = dict(found.rows)
    rows = conn.execute(
        select(m.id, m.direction, m.header_json, m.read_at).where(m.id.in_(list(seqs)))
    ).all()
    hits = sorted((Hit(*r, seq=seqs[r.id]) for r in rows), key=lambda h: -h.seq)
    counted = select(literal(1)).select_from(source).where(where).limit(MAX_COUNTED + 1)
    total = conn.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
    return Found(hits, int(total), found.older, found.newer)


def _visible(query: Query) -> ColumnElement[bool]:
    d = search_docs.c
    return readable_by(
        query.unit,
        query.sender_address,
        message_id=d.message_id,
        direction=d.direction,
        sender=d.sender,
    )


def readable_by(
    unit: str,
    sender_address: str,
    *,
    message_id: ColumnElement[Any],
    direction: ColumnElement[Any],
    sender: ColumnElement[Any],
) -> ColumnElement[bool]:
    """The message view's rule (``Messaging.open``) as a condition on an index's row: a
    message received into the unit's mailbox, or sent by the unit from here. Every index
    that shows what a unit may read (search, the TAXII objects) asks this, and nothing else."""
    in_mailbox = exists().where(mailbox.c.message_id == message_id, mailbox.c.unit == unit)
    return or_(
        and_(direction == "in", in_mailbox),
        and_(direction == "out", sender == sender_address),
    )


def _matches(conn: Connection, words_: Sequence[str]) -> ColumnElement[bool]:
    """Every token as a word, the last also as a word's beginning (what is being typed).
    A prefix of an earlier word would be a short common prefix as often as not, matching
    most of the store for nothing. Each token is letters and digits only (tokens()), so no
    operator, quote or column filter of either query language can come through it; it is a
    bound parameter all the same."""
    *whole, last = words_
    if conn.dialect.name == "sqlite":
        clause = text("search_fts MATCH :fts")  # search_fts is joined in _search
        fts = " ".join([*(f'"{t}"' for t in whole), f'"{last}"*'])
        return clause.bindparams(fts=fts)  # type: ignore[return-value]
    clause = text("search_docs.words_tsv @@ to_tsquery('simple', :fts)")
    fts = " & ".join([*whole, f"{last}:*"])
    return clause.bindparams(fts=fts)  # type: ignore[return-value]
