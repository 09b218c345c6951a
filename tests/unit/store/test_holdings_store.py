"""The holdings index's store: replace on re-import, candidates by shared keys, units."""

from __future__ import annotations

from datetime import UTC, datetime

from secureline.store import holdings as store
from secureline.store.database import Database

AT = datetime(2026, 12, 7, tzinfo=UTC)


def _holding(source: str, entity_id: str, unit: str = "ncb", message: str | None = None):
    return store.Holding(
        key=store.holding_key(source, entity_id),
        source=source,
        entity_id=entity_id,
        schema="Person",
        caption=entity_id,
        unit=unit,
        handling="H0",
        message_id=message,
        entity_json="{}",
        indexed_at=AT,
    )


def test_a_reimport_replaces_the_row_and_its_keys(database: Database) -> None:
    first = _holding("register", "p1")
    with database.transaction() as conn:
        store.put(conn, [first], [(first.key, "name", "a"), (first.key, "name", "b")])
    with database.transaction() as conn:
        store.put(conn, [first], [(first.key, "name", "c")])
    with database.read() as conn:
        assert store.count(conn) == 1
        assert store.candidates(conn, [("name", "a")], None, 10) == []
        assert store.candidates(conn, [("name", "c")], None, 10) == [store.Candidate(first.key, 1)]


def test_candidates_rank_by_shared_keys_and_stay_within_the_units(database: Database) -> None:
    one, two, other = _holding("r", "one"), _holding("r", "two"), _holding("r", "x", unit="cyber")
    with database.transaction() as conn:
        store.put(
            conn,
            [one, two, other],
            [
                (one.key, "name", "a"),
                (two.key, "name", "a"),
                (two.key, "id", "doc:X1"),
                (other.key, "name", "a"),
                (other.key, "id", "doc:X1"),
            ],
        )
    keys = [("name", "a"), ("id", "doc:X1")]
    with database.read() as conn:
        seen = store.candidates(conn, keys, ["ncb"], 10)
        everyone = store.candidates(conn, keys, None, 10)
    assert seen == [store.Candidate(two.key, 2), store.Candidate(one.key, 1)]
    assert {c.holding for c in everyone} == {one.key, two.key, other.key}


def test_removing_a_message_leaves_nothing_findable(database: Database) -> None:
    held = _holding("message:m1@b", "p1", message="msg-1")
    kept = _holding("register", "p1")
    with database.transaction() as conn:
        store.put(conn, [held, kept], [(held.key, "name", "a"), (kept.key, "name", "a")])
        assert store.remove_message(conn, "msg-1") == 1
    with database.read() as conn:
        assert store.candidates(conn, [("name", "a")], None, 10) == [store.Candidate(kept.key, 1)]
        assert [h.entity_id for h in store.fetch(conn, [held.key, kept.key])] == ["p1"]
