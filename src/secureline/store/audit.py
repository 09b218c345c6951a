"""The audit chain's tables and the store functions that read and append them.

Appends take a :class:`~sqlalchemy.Connection` so that the audit records of an action are
written in the SAME transaction as the action: either both are on disk or neither is.
Reads and the partner store take a :class:`Database` (their own short transaction) or a
connection. The store knows rows, not rules: hashing and verification are the domain's and
the audit service's (the store sits below the domain and cannot import it).

The single ``audit_head`` row is the append lock. On PostgreSQL it is selected ``FOR
UPDATE``, so several workers take turns; on SQLite every write transaction already begins
IMMEDIATE (see dialect.py), which serialises writers, and SQLAlchemy drops ``FOR UPDATE``.
The lock is held until the caller's transaction ends, so callers record audit events last.

Times are stored in UTC. SQLite keeps no zone, so every time read back is made UTC-aware
here and every time written or compared must already be UTC (the service makes it so).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Select,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from secureline.store import bulk
from secureline.store.database import Database
from secureline.store.dialect import as_utc
from secureline.store.errors import StoreError
from secureline.store.paging import Keyset, Page, newest_first
from secureline.store.tables import NAME, TS, metadata

__all__ = [
    "audit_records",
    "audit_head",
    "audit_checkpoints",
    "partner_checkpoints_table",
    "RecordRow",
    "Head",
    "CheckpointRow",
    "PartnerCheckpointRow",
    "append",
    "head",
    "create_head",
    "set_head",
    "iter_records",
    "records_for_object",
    "save_checkpoint",
    "latest_checkpoint",
    "iter_checkpoints",
    "MAX_SEQ",
    "MAX_PARTNER_TOKEN_CHARS",
    "UnfitPartnerCheckpoint",
    "check_partner_checkpoint",
    "save_partner_checkpoint",
    "partner_checkpoints",
    "partner_names",
]

SEQ = BigInteger().with_variant(Integer, "sqlite")
HASH = String(64)
#: Widths match secureline.domain.audit.MAX_NAME_CHARS / MAX_CODE_CHARS.
AUDIT_NAME = String(200)
AUDIT_CODE = String(40)
HEAD_ID = 1
PAGE_SIZE = 1000

audit_records = Table(
    "audit_records",
    metadata,
    # Assigned by the service under the head lock, never by the database: a gap is a finding.
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("actor", AUDIT_NAME, nullable=False),
    Column("action", AUDIT_CODE, nullable=False),
    Column("object", AUDIT_NAME, nullable=False),
    Column("outcome", AUDIT_CODE, nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("prev_hash", HASH, nullable=False),
    Column("hash", HASH, nullable=False),
    # who-read and records-for-object; export by time.
    Index(None, "object", "action"),
    Index(None, "at"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("seq", SEQ, nullable=False),
    Column("hash", HASH, nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("head_hash", HASH, nullable=False),
    Column("token", Text, nullable=False),  # the node's JWS over checkpoint_payload
)

partner_checkpoints_table = Table(
    "partner_checkpoints",
    metadata,
    Column("peer", NAME, nullable=False),
    Column("seq", SEQ, nullable=False, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("head_hash", HASH, nullable=False),
    Column("token", Text, nullable=False),  # the partner's JWS: our proof of its history
    Column("received_at", TS, nullable=False),
    PrimaryKeyConstraint("peer", "seq"),
)


class RecordRow(NamedTuple):
    """One ``audit_records`` row; a tuple because the hot path builds thousands of them."""

    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    outcome: str
    detail_json: str
    prev_hash: str
    hash: str


class Head(NamedTuple):
    seq: int
    hash: str


@dataclass(frozen=True)
class CheckpointRow:
    seq: int
    at: datetime
    head_hash: str
    token: str


@dataclass(frozen=True)
class PartnerCheckpointRow:
    peer: str
    seq: int
    at: datetime
    head_hash: str
    token: str
    received_at: datetime


@contextmanager
def _reading(source: Database | Connection) -> Iterator[Connection]:
    if isinstance(source, Connection):
        yield source
    else:
        with source.read() as conn:
            yield conn


@contextmanager
def _writing(source: Database | Connection) -> Iterator[Connection]:
    if isinstance(source, Connection):
        yield source
    else:
        with source.transaction() as conn:
            yield conn


# --- records and head --------------------------------------------------------------------


# Built once: the hot path runs these per batch, and building a statement costs as much
# as executing it.
_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_SET_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def append(conn: Connection, rows: Sequence[RecordRow]) -> None:
    """Insert records in one driver-level ``executemany``; ``at`` must be UTC.

    One record per message crossing the node: this is on the line's hot path (issue 5 caps
    the chain at 10% of throughput)."""
    bulk.insert_many(conn, "audit_records", RecordRow._fields, rows)


def head(conn: Connection, *, for_update: bool) -> Head | None:
    """The chain's head; ``for_update`` takes the append lock until the transaction ends."""
    row = conn.execute(_HEAD_FOR_UPDATE if for_update else _HEAD).first()
    return None if row is None else Head(row.seq, row.hash)


def create_head(conn: Connection, genesis_hash: str) -> None:
    """Create the head row of an empty chain; a concurrent creator winning is fine."""
    try:
        with conn.begin_nested():
            conn.execute(audit_head.insert().values(id=HEAD_ID, seq=0, hash=genesis_hash))
    except IntegrityError:
        pass  # another worker created it first; the caller selects it FOR UPDATE next


def set_head(conn: Connection, new_head: Head) -> None:
    conn.execute(_SET_HEAD, {"new_seq": new_head.seq, "new_hash": new_head.hash})


def _record(row: Any) -> RecordRow:
    return RecordRow(
        row.seq,
        as_utc(row.at),
        row.actor,
        row.action,
        row.object,
        row.outcome,
        row.detail_json,
        row.prev_hash,
        row.hash,
    )


def iter_records(
    source: Database | Connection,
    *,
    from_seq: int = 1,
    to_seq: int | None = None,
    from_at: datetime | None = None,
    to_at: datetime | None = None,
    obj: str | None = None,
    action: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[RecordRow]:
    """Records in seq order, filtered; ``to_seq`` inclusive, ``[from_at, to_at)`` half-open.

    Read page by page (keyset on seq), each page in its own short read when given a
    Database, so a long export or verify never holds a lock or a snapshot for long.
    """
    conditions: list[ColumnElement[bool]] = []
    if to_seq is not None:
        conditions.append(audit_records.c.seq <= to_seq)
    if from_at is not None:
        conditions.append(audit_records.c.at >= as_utc(from_at))
    if to_at is not None:
        conditions.append(audit_records.c.at < as_utc(to_at))
    if obj is not None:
        conditions.append(audit_records.c.object == obj)
    if action is not None:
        conditions.append(audit_records.c.action == action)
    after = from_seq - 1
    while True:
        query = (
            select(audit_records)
            .where(audit_records.c.seq > after, *conditions)
            .order_by(audit_records.c.seq)
            .limit(page_size)
        )
        with _reading(source) as conn:
            page = [_record(row) for row in conn.execute(query)]
        yield from page
        if len(page) < page_size:
            return
        after = page[-1].seq


def latest_records(
    db: Database,
    *,
    actor: str | None = None,
    obj: str | None = None,
    action: str | None = None,
    from_at: datetime | None = None,
    to_at: datetime | None = None,
    keyset: Keyset[int] | None = None,
    limit: int = 200,
) -> Page[RecordRow, int]:
    """A page of the records matching every filter given, newest first, by seq (what the
    data protection officer looks through; the export is :func:`iter_records`)."""
    c = audit_records.c
    conditions: list[ColumnElement[bool]] = []
    for column, value in ((c.actor, actor), (c.object, obj), (c.action, action)):
        if value is not None:
            conditions.append(column == value)
    if from_at is not None:
        conditions.append(c.at >= as_utc(from_at))
    if to_at is not None:
        conditions.append(c.at < as_utc(to_at))
    with db.read() as conn:

        def run(page: Select[Any]) -> list[RecordRow]:
            return [_record(row) for row in conn.execute(page)]

        query = select(audit_records).where(*conditions)
        return newest_first(run, query, [c.seq], keyset or Keyset(), limit, lambda r: r.seq)


def records_for_object(
    source: Database | Connection, obj: str, action: str | None = None
) -> list[RecordRow]:
    """Every record about ``obj`` (optionally of one action), oldest first."""
    return list(iter_records(source, obj=obj, action=action))


# --- our checkpoints ---------------------------------------------------------------------


def save_checkpoint(conn: Connection, checkpoint: CheckpointRow) -> None:
    conn.execute(
        audit_checkpoints.insert().values(
            seq=checkpoint.seq,
            at=as_utc(checkpoint.at),
            head_hash=checkpoint.head_hash,
            token=checkpoint.token,
        )
    )


def _checkpoint(row: Any) -> CheckpointRow:
    return CheckpointRow(seq=row.seq, at=as_utc(row.at), head_hash=row.head_hash, token=row.token)


def latest_checkpoint(source: Database | Connection) -> CheckpointRow | None:
    query = select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)
    with _reading(source) as conn:
        row = conn.execute(query).first()
    return None if row is None else _checkpoint(row)


def iter_checkpoints(
    source: Database | Connection, page_size: int = PAGE_SIZE
) -> Iterator[CheckpointRow]:
    """All our checkpoints in seq order, paged like :func:`iter_records`."""
    after = -1
    while True:
        query = (
            select(audit_checkpoints)
            .where(audit_checkpoints.c.seq > after)
            .order_by(audit_checkpoints.c.seq)
            .limit(page_size)
        )
        with _reading(source) as conn:
            page = [_checkpoint(row) for row in conn.execute(query)]
        yield from page
        if len(page) < page_size:
            return
        after = page[-1].seq


# --- partners' checkpoints ---------------------------------------------------------------


def _partner(row: Any) -> PartnerCheckpointRow:
    return PartnerCheckpointRow(
        peer=row.peer,
        seq=row.seq,
        at=as_utc(row.at),
        head_hash=row.head_hash,
        token=row.token,
        received_at=as_utc(row.received_at),
    )


def _get_partner(conn: Connection, peer: str, seq: int) -> PartnerCheckpointRow | None:
    t = partner_checkpoints_table
    row = conn.execute(select(t).where(t.c.peer == peer, t.c.seq == seq)).first()
    return None if row is None else _partner(row)


#: The largest seq a ``SEQ`` column holds (BIGINT; SQLite's INTEGER is as wide).
MAX_SEQ = 2**63 - 1
#: A partner's checkpoint JWS: about 450 characters; anything near this is not one of ours.
MAX_PARTNER_TOKEN_CHARS = 4096


class UnfitPartnerCheckpoint(StoreError):
    """A partner checkpoint whose values the ``partner_checkpoints`` columns cannot hold."""

    code = "checkpoint_out_of_range"


def check_partner_checkpoint(checkpoint: PartnerCheckpointRow) -> None:
    """Refuse values the columns cannot hold, before the driver meets them (it raises
    OverflowError for a seq of 2^63 on SQLite, and PostgreSQL text cannot hold NUL)."""
    seq = checkpoint.seq
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
        raise UnfitPartnerCheckpoint(f"seq must be an integer in 0..{MAX_SEQ}")
    peer_width = NAME.length or 0
    if not checkpoint.peer or len(checkpoint.peer) > peer_width or "\x00" in checkpoint.peer:
        raise UnfitPartnerCheckpoint(f"peer must be 1..{peer_width} characters without NUL")
    if len(checkpoint.head_hash) != (HASH.length or 0):
        raise UnfitPartnerCheckpoint(f"head_hash must be {HASH.length} characters")
    token = checkpoint.token
    if not token or len(token) > MAX_PARTNER_TOKEN_CHARS or not token.isascii() or "\x00" in token:
        raise UnfitPartnerCheckpoint(
            f"token must be 1..{MAX_PARTNER_TOKEN_CHARS} ASCII characters without NUL"
        )


def save_partner_checkpoint(
    target: Database | Connection, checkpoint: PartnerCheckpointRow
) -> PartnerCheckpointRow:
    """Keep a partner's checkpoint; if one is already kept for (peer, seq), return that one.

    The caller compares the two: a partner that signed two different heads for one seq has
    equivocated, and the first token is the proof that must not be overwritten. Values the
    columns cannot hold are refused first (:class:`UnfitPartnerCheckpoint`).
    """
    check_partner_checkpoint(checkpoint)
    with _writing(target) as conn:
        existing = _get_partner(conn, checkpoint.peer, checkpoint.seq)
        if existing is not None:
            return existing
        try:
            with conn.begin_nested():
                conn.execute(
                    partner_checkpoints_table.insert().values(
                        peer=checkpoint.peer,
                        seq=checkpoint.seq,
                        at=as_utc(checkpoint.at),
                        head_hash=checkpoint.head_hash,
                        token=checkpoint.token,
                        received_at=as_utc(checkpoint.received_at),
                    )
                )
        except IntegrityError:
            # Another worker stored the same (peer, seq) between our select and insert.
            raced = _get_partner(conn, checkpoint.peer, checkpoint.seq)
            if raced is None:
                raise
            return raced
        return checkpoint


def partner_checkpoints(source: Database | Connection, peer: str) -> list[PartnerCheckpointRow]:
    """A partner's checkpoints we keep, oldest first."""
    t = partner_checkpoints_table
    with _reading(source) as conn:
        rows = conn.execute(select(t).where(t.c.peer == peer).order_by(t.c.seq)).all()
    return [_partner(row) for row in rows]


def partner_names(source: Database | Connection) -> list[str]:
    """The partners whose checkpoints we keep, sorted."""
    t = partner_checkpoints_table
    with _reading(source) as conn:
        return [row.peer for row in conn.execute(select(t.c.peer).distinct().order_by(t.c.peer))]
