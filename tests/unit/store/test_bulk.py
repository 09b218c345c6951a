"""Rows appended through the driver read back exactly as rows written through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from secureline.store import bulk
from secureline.store.database import Database
from secureline.store.retention import retention
from secureline.store.tables import messages

AT = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ELSEWHERE = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))


def _message(message_id: str, at: datetime) -> dict[str, object]:
    return {
        "id": message_id,
        "direction": "in",
        "sender": "ops@europol",
        "origin_node": "europol",
        "header_json": "{}",
        "content_json": '{"body": "é"}',
        "content_jwe": None,
        "envelope": None,
        "created_at": at,
        "stored_at": at,
        "read_at": None,
        "purged_at": None,
    }


def test_bulk_rows_read_back_like_sqlalchemy_rows(database: Database) -> None:
    by_sqlalchemy, by_driver = _message("msg-by-sqlalchemy", AT), _message("msg-by-driver", AT)
    by_driver["stored_at"] = ELSEWHERE  # the same instant in another zone
    with database.transaction() as conn:
        conn.execute(insert(messages), [by_sqlalchemy])
        bulk.insert_many(conn, "messages", list(by_driver), [list(by_driver.values())])
        conn.execute(
            insert(retention),
            [{"message_id": "msg-by-sqlalchemy", "review_date": date(2031, 3, 1), "state": "s"}],
        )
        bulk.insert_many(
            conn,
            "retention",
            ("message_id", "review_date", "state"),
            [("msg-by-driver", date(2031, 3, 1), "s")],
        )
    with database.read() as conn:
        rows = {r.id: r._asdict() for r in conn.execute(select(messages))}
        reviews = {r.message_id: r.review_date for r in conn.execute(select(retention))}
        # Ordering and comparison happen in SQL too: both rows must sort as the same instant.
        same_instant = conn.execute(
            select(messages.c.id).where(messages.c.stored_at == AT).order_by(messages.c.id)
        ).scalars()
        assert list(same_instant) == ["msg-by-driver", "msg-by-sqlalchemy"]
    driver, alchemy = rows.pop("msg-by-driver"), rows.pop("msg-by-sqlalchemy")
    assert {**driver, "id": None} == {**alchemy, "id": None}
    assert reviews == {"msg-by-sqlalchemy": date(2031, 3, 1), "msg-by-driver": date(2031, 3, 1)}


def test_nothing_to_insert_writes_nothing(database: Database) -> None:
    with database.transaction() as conn:
        bulk.insert_many(conn, "messages", ("id",), [])
    with database.read() as conn:
        assert conn.execute(select(messages)).first() is None


def test_a_look_up_by_keys_finds_each_row_once_across_chunks(database: Database) -> None:
    ids = [f"msg-{n:08d}" for n in range(bulk.SELECT_CHUNK + 7)]
    with database.transaction() as conn:
        bulk.insert_many(
            conn,
            "messages",
            list(_message(ids[0], AT)),
            [list(_message(i, AT).values()) for i in ids[::2]],
        )
    asked = [*ids, ids[0], "msg-not-here"]  # repeats and misses too
    with database.transaction() as conn:
        found = bulk.select_in(conn, "messages", ("id", "direction"), "id", asked)
        locked = bulk.select_in(conn, "messages", ("id",), "id", asked[:3], lock_order=("id",))
    assert sorted(found) == [(i, "in") for i in ids[::2]]
    assert sorted(locked) == [(ids[0],), (ids[2],)]


def test_a_look_up_reads_text_columns_only(database: Database) -> None:
    with database.read() as conn, pytest.raises(TypeError, match="stored_at"):
        bulk.select_in(conn, "messages", ("id", "stored_at"), "id", ["msg-00000001"])
