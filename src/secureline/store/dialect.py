"""Every difference between SQLite and PostgreSQL lives here and nowhere else.

SQLite is the embedded default (one WAL file per node); PostgreSQL is the production engine.
Shared tables use only portable types; what differs is how a connection is set up, how a
node's rows are kept apart (a schema on PostgreSQL, a file on SQLite) and how rows are claimed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Envelopes and message rows are 2-6 KiB: with SQLite's default 4 KiB pages each takes a page
#: of its own (or spills into an overflow page), and every page is a separate write to the WAL
#: and again at the checkpoint. 16 KiB pages pack several rows per write: a quarter of the
#: write calls for the same bytes. SQLite applies it only when it creates the file.
SQLITE_PAGE_SIZE = 16_384


def normalise_url(url: str) -> str:
    """Accept the URLs administrators write and pick the drivers we ship."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


#: Connections a node's process keeps open. The API's concurrent requests each read (their
#: authentication) while the line's sender and receiver write: with fewer kept than that, the
#: ones past the pool were opened and closed per request (a new PostgreSQL backend each, and
#: SQLite's pragmas), which cost more than the request itself. Past the pool, a few more
#: may open for a burst and are closed after it.
POOL_SIZE = 16
POOL_OVERFLOW = 8


def create(url: str, schema: str | None = None) -> Engine:
    """An engine for the node's store; ``schema`` keeps a node's tables apart on PostgreSQL."""
    url = normalise_url(url)
    if is_sqlite(url):
        _create_private(make_url(url).database)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling would defer BEGIN; take it over so that every
        # write transaction takes the lock at its start (BEGIN IMMEDIATE) and cannot deadlock.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-c search_path={schema}"
    return create_engine(
        url, connect_args=connect_args, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
    )


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only: it holds messages and personal
    data. SQLite gives its -wal and -shm files the database file's permissions."""
    if not database or database == ":memory:" or Path(database).exists():
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL, which fixes it
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the line answers with evidence (the protocol promises it).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get("secureline_read_only"):
        connection.exec_driver_sql("BEGIN")  # a snapshot; takes no write lock
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def without_sync(conn: Connection) -> Iterator[Connection]:
    """A write transaction on ``conn`` whose commit does not wait for the disk (see
    :meth:`Database.transaction`): SQLite's ``synchronous=NORMAL`` for this commit only (it
    cannot change inside a transaction), PostgreSQL's ``synchronous_commit`` off for it."""
    if conn.dialect.name != "sqlite":
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn
        return
    _raw_pragma(conn, "PRAGMA synchronous=NORMAL")
    try:
        with conn.begin():
            yield conn
    finally:
        # The connection goes back to the pool as every other: durable.
        _raw_pragma(conn, "PRAGMA synchronous=FULL")


def _raw_pragma(conn: Connection, statement: str) -> None:
    # On the driver's connection: through SQLAlchemy the statement would begin a transaction.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def create_schema(url: str, schema: str) -> None:
    """Make a PostgreSQL schema for one node (tests run many nodes on one database)."""
    if is_sqlite(url):
        return
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    engine.dispose()


def drop_schema(url: str, schema: str) -> None:
    if is_sqlite(url):
        return
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


def checkpoint(url: str) -> None:
    """Move SQLite's write-ahead log into the database file and empty it (benchmarks, before
    :func:`stored_bytes`: the log is reused from its start after each checkpoint, so its size
    is the largest burst of writes between two, not what the rows take). PostgreSQL: nothing."""
    if is_sqlite(url):
        # Its own connection, outside any transaction: a checkpoint cannot run inside one.
        conn = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()


def stored_bytes(url: str, schema: str | None) -> int:
    """The bytes a node's store takes: on SQLite the database file and its write-ahead log;
    on PostgreSQL every table of the node's schema with its indexes and TOAST
    (``pg_total_relation_size``)."""
    if is_sqlite(url):
        path = Path(make_url(url).database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    with engine.connect() as conn:
        size = conn.exec_driver_sql(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %(schema)s AND c.relkind = 'r'",
            {"schema": schema or "public"},
        ).scalar_one()
    engine.dispose()
    return int(size)


def skip_locked(url: str) -> bool:
    """Whether several workers can claim outbox rows without blocking each other."""
    return not is_sqlite(url)


#: the PostgreSQL advisory lock key of each named critical section (held to the end of the
#: transaction that takes it)
_SECTIONS = {"crosscheck": 0x5EC0_11E0_0016}


def serialise(conn: Any, section: str) -> None:
    """Serialise the transactions that take ``section`` across every worker on the store:
    PostgreSQL takes a transaction-scoped advisory lock; SQLite's write transactions are
    serialised already (``BEGIN IMMEDIATE``)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SECTIONS[section]})")


def insert_many_sql(paramstyle: str, table: str, columns: Sequence[str]) -> str:
    """A plain INSERT for the driver's own executemany, for the hottest appends, where
    SQLAlchemy's per-row parameter processing would cost more than the insert itself."""
    marks = ", ".join("?" if paramstyle == "qmark" else "%s" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (names are code constants, values are bound)


def update_many_sql(
    paramstyle: str, table: str, columns: Sequence[str], keys: Sequence[str]
) -> str:
    """A plain UPDATE by key for the driver's own executemany (see insert_many_sql)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    assignments = ", ".join(f"{c} = {mark}" for c in columns)
    match = " AND ".join(f"{k} = {mark}" for k in keys)
    return f"UPDATE {table} SET {assignments} WHERE {match}"  # noqa: S608 (as insert_many_sql)


def select_in_sql(
    is_sqlite: bool,
    table: str,
    columns: Sequence[str],
    key: str,
    count: int,
    lock_order: Sequence[str] = (),
) -> str:
    """A SELECT of ``columns`` WHERE ``key`` IN ``count`` values, for the driver (see
    insert_many_sql). ``lock_order``: FOR UPDATE, rows taken in that order; PostgreSQL only,
    since a SQLite write transaction holds the whole file already."""
    marks = ", ".join("?" if is_sqlite else "%s" for _ in range(count))
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {key} IN ({marks})"  # noqa: S608 (as insert_many_sql)
    if lock_order and not is_sqlite:
        sql += f" ORDER BY {', '.join(lock_order)} FOR UPDATE"
    return sql


def datetime_param(is_sqlite: bool, value: datetime) -> datetime | str:
    """A UTC datetime as the driver should receive it: SQLite stores the text SQLAlchemy's
    DateTime type writes (no zone, read back as UTC); PostgreSQL takes the datetime."""
    if is_sqlite:
        # The text SQLAlchemy writes ("%Y-%m-%d %H:%M:%S.%f"), spelled faster than strftime.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def as_utc(value: datetime) -> datetime:
    """``value`` UTC-aware. A time read back from SQLite has no zone (the times written are
    UTC); PostgreSQL answers in the session's zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def reply_to_expression(dialect_name: str) -> str:
    """The SQL that reads a stored header's ``reply_to`` (``messages.header_json``), the same
    text in the index of migration 0009t and in the thread's query (store/threads.py), so
    that each engine answers a thread from the index rather than by reading every header."""
    if dialect_name == "sqlite":
        return "json_extract(header_json, '$.reply_to')"
    return "((header_json)::jsonb ->> 'reply_to')"
