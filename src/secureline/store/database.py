"""The node's database: one engine, short named transactions, forward-only migrations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from secureline.store import dialect
from secureline.store.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """A node's store. Every store function takes one and runs one transaction on it."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url = dialect.normalise_url(url)
        self.schema = schema
        self.engine: Engine = dialect.create(self.url, schema)
        self.is_sqlite = dialect.is_sqlite(self.url)
        # SQLite has one writer at a time. Writers of this process queue here for it rather
        # than in SQLite's busy handler, which sleeps 1, 2, 5, 10 ... 100 ms between tries:
        # a waiting writer sleeps past the moment the lock comes free, and under load again
        # and again (the API's group commit and the link's two workers contend for it, and
        # a wall-clock profile showed them waiting in BEGIN IMMEDIATE). Other processes on the file
        # still meet SQLite's own lock (BEGIN IMMEDIATE and busy_timeout decide between
        # them). PostgreSQL decides between writers itself: no lock here.
        self._writer: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back whole on any error.

        ``durable=False``: the commit does not wait for the disk, so a power cut (never a
        crash of the process: the write is with the kernel) may lose it, and every later
        durable commit carries it to the disk first. Only for writes the line redoes by
        itself when they are lost: a claim marking envelopes sent (they go again, and the
        receiver is idempotent by message id), evidence taken back from an answer (the peer
        answers the retry again). Never for what is acknowledged to anyone.
        """
        try:
            with (
                self._writer or nullcontext(),
                self.engine.connect() as conn,
                conn.begin() if durable else dialect.without_sync(conn),
            ):
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(
                f"database error: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}"
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(secureline_read_only=True) as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}") from exc

    def migrate(self, to: str = "head") -> None:
        """Bring the schema to the newest migration, or ``to`` one (a no-op when it is
        already there)."""
        if self.schema:
            dialect.create_schema(self.url, self.schema)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, to)

    def dispose(self) -> None:
        self.engine.dispose()
