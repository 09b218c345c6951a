"""The audit tables and store functions, on a real SQLite file (or PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from secureline.store import audit as store
from secureline.store.database import Database
from secureline.store.errors import StoreError
from secureline.store.search import include_object
from secureline.store.tables import metadata

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
GENESIS = "0" * 64


def _row(
    seq: int, at: datetime = T0, obj: str = "msg-1", action: str = "message.read"
) -> store.RecordRow:
    return store.RecordRow(
        seq=seq,
        at=at,
        actor=f"user-{seq}",
        action=action,
        object=obj,
        outcome="ok",
        detail_json="{}",
        prev_hash=f"{seq - 1:064x}",
        hash=f"{seq:064x}",
    )


def test_migrations_create_exactly_the_tables_defined(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        assert compare_metadata(context, metadata) == []


def test_migrating_twice_is_a_no_op(database: Database) -> None:
    database.migrate()


def test_no_head_until_created(database: Database) -> None:
    with database.transaction() as conn:
        assert store.head(conn, for_update=True) is None
        store.create_head(conn, GENESIS)
        store.create_head(conn, GENESIS)  # a second creator loses quietly
        assert store.head(conn, for_update=True) == store.Head(0, GENESIS)
        store.set_head(conn, store.Head(7, "a" * 64))
    with database.read() as conn:
        assert store.head(conn, for_update=False) == store.Head(7, "a" * 64)


def test_append_and_read_back_in_utc(database: Database) -> None:
    paris = T0.astimezone(UTC)
    with database.transaction() as conn:
        store.append(conn, [_row(1, paris), _row(2, paris)])
    rows = list(store.iter_records(database))
    assert rows == [_row(1), _row(2)]
    assert rows[0].at.tzinfo is not None
    assert rows[0].at == T0


def test_append_rolls_back_with_the_callers_transaction(database: Database) -> None:
    # The action and its audit record commit together or not at all.
    def append_twice() -> None:
        with database.transaction() as conn:
            store.append(conn, [_row(1)])
            store.append(conn, [_row(1)])  # duplicate seq: the whole transaction fails

    with pytest.raises(StoreError):
        append_twice()
    assert list(store.iter_records(database)) == []


def test_iter_records_pages_and_filters(database: Database) -> None:
    rows = [
        _row(seq, T0 + timedelta(seconds=seq), obj=f"msg-{seq % 3}", action="message.read")
        for seq in range(1, 26)
    ]
    with database.transaction() as conn:
        store.append(conn, rows)
    assert [r.seq for r in store.iter_records(database, page_size=4)] == list(range(1, 26))
    assert [r.seq for r in store.iter_records(database, from_seq=10, to_seq=12)] == [10, 11, 12]
    window = store.iter_records(
        database, from_at=T0 + timedelta(seconds=5), to_at=T0 + timedelta(seconds=8), page_size=2
    )
    assert [r.seq for r in window] == [5, 6, 7]
    for_object = store.records_for_object(database, "msg-1", "message.read")
    assert [r.seq for r in for_object] == [1, 4, 7, 10, 13, 16, 19, 22, 25]
    assert store.records_for_object(database, "msg-1", "message.sent") == []


def test_iter_records_accepts_a_connection(database: Database) -> None:
    with database.transaction() as conn:
        store.append(conn, [_row(1), _row(2)])
        assert [r.seq for r in store.iter_records(conn)] == [1, 2]


def test_checkpoints_latest_and_in_order(database: Database) -> None:
    assert store.latest_checkpoint(database) is None
    with database.transaction() as conn:
        for seq in (0, 5, 10):
            store.save_checkpoint(conn, store.CheckpointRow(seq, T0, f"{seq:064x}", f"tok{seq}"))
    latest = store.latest_checkpoint(database)
    assert latest == store.CheckpointRow(10, T0, f"{10:064x}", "tok10")
    assert [c.seq for c in store.iter_checkpoints(database, page_size=2)] == [0, 5, 10]


def test_partner_checkpoint_first_one_is_kept(database: Database) -> None:
    first = store.PartnerCheckpointRow("bravo", 4, T0, "a" * 64, "tok-a", T0)
    assert store.save_partner_checkpoint(database, first) == first
    again = store.PartnerCheckpointRow("bravo", 4, T0, "b" * 64, "tok-b", T0)
    # A second, different head for the same seq never overwrites the first (the proof).
    assert store.save_partner_checkpoint(database, again) == first
    with database.transaction() as conn:
        store.save_partner_checkpoint(
            conn, store.PartnerCheckpointRow("bravo", 2, T0, "c" * 64, "tok-c", T0)
        )
        store.save_partner_checkpoint(
            conn, store.PartnerCheckpointRow("charlie", 2, T0, "d" * 64, "tok-d", T0)
        )
    assert [c.seq for c in store.partner_checkpoints(database, "bravo")] == [2, 4]
    assert [c.token for c in store.partner_checkpoints(database, "charlie")] == ["tok-d"]
    with database.read() as conn:
        count = conn.execute(select(func.count()).select_from(store.partner_checkpoints_table))
        assert count.scalar_one() == 3


def test_each_node_has_its_own_store(database_factory: Callable[[str], Database]) -> None:
    alpha, bravo = database_factory("alpha"), database_factory("bravo")
    with alpha.transaction() as conn:
        store.append(conn, [_row(1)])
    assert list(store.iter_records(bravo)) == []
