"""The search index on the store the suite runs on (SQLite by default, PostgreSQL with
SECURELINE_TEST_DATABASE_URL): the same queries must find the same ids on both, so each
expected id is written out here, not computed from either engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store import search
from secureline.store.database import Database

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _header(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"msg-{i:08d}",
        "sender": "ops@europol",
        "to": ["cc@interpol"],
        "kind": "information",
        "crime_area": "cyber-crime",
        "handling": "H0",
        "subject": f"subject {i}",
        "case_ref": None,
        "created_at": AT.replace(day=1 + i).isoformat(),
        **fields,
    }


def _row(
    i: int, direction: str = "in", content: dict[str, Any] | None = None, **fields: Any
) -> message_store.MessageRow:
    header = _header(i, **fields)
    return message_store.MessageRow(
        id=header["id"],
        direction=direction,
        sender=header["sender"],
        origin_node=header["sender"].split("@")[1],
        header_json=orjson.dumps(header).decode(),
        content_json=orjson.dumps(content or {"body": "", "entities": []}).decode(),
        content_jwe=None,
        envelope=None,
        created_at=datetime.fromisoformat(header["created_at"]),
        stored_at=AT,
    )


def _person(name: str, number: str = "") -> dict[str, Any]:
    props: dict[str, list[str]] = {"name": [name]}
    if number:
        props["passportNumber"] = [number]
    return {"id": f"p-{name.split(maxsplit=1)[0].lower()}", "schema": "Person", "properties": props}


@pytest.fixture
def store(database: Database) -> Database:
    rows = [
        _row(
            1, content={"body": "Skiff seen off Eyl", "entities": [_person("Émile Zola", "X-99")]}
        ),
        _row(2, content={"body": "a vessel named Aurora", "entities": []}, crime_area="fraud"),
        _row(3, content={"body": "Zola again, H3", "entities": []}, handling="H3"),
        _row(4, content={"body": "for another unit: Zola", "entities": []}),
        _row(5, "out", {"body": "we asked about Zola", "entities": []}, sender="cc@interpol"),
        _row(6, "relay", {"body": "relayed Zola", "entities": []}),
        _row(7, content={"body": "deleted Zola", "entities": []}, kind="deletion"),
        _row(8, "out", {"body": "Zola from another unit", "entities": []}, sender="ncb@interpol"),
    ]
    with database.transaction() as conn:
        message_store.insert_messages(conn, rows)
        message_store.add_to_mailboxes(
            conn,
            [("cc", r.id) for r in rows if r.direction == "in" and r.id != "msg-00000004"]
            + [("other", "msg-00000004")],
            AT,
        )
    return database


def _ids(db: Database, text: str = "", **fields: Any) -> list[str]:
    query = search.Query("cc", "cc@interpol", tuple(search.tokens(text)), **fields)
    found = search.search(db, query)
    assert found.total == len(found.hits)
    return [h.id for h in found.hits]


def test_words_are_cut_the_same_way_for_either_engine() -> None:
    assert search.words("Émile ZOLA, passport X-99/b_c") == "emile zola passport x 99 b c"
    assert search.tokens('zola" OR * NEAR(') == ["zola", "or", "near"]


def test_a_name_finds_only_what_the_unit_may_read(store: Database) -> None:
    # 1: received, in the body and as an entity; 5: sent by the unit. Not 3 (H3: its content
    # is not searched), 4 (another unit's mailbox), 6 (relayed), 7 (a deletion), 8 (sent by
    # another unit of this node).
    assert _ids(store, "zola") == ["msg-00000005", "msg-00000001"]


def test_prefixes_accents_identifiers_and_every_word(store: Database) -> None:
    assert _ids(store, "emil") == ["msg-00000001"]
    assert _ids(store, "ÉMILE zol") == ["msg-00000001"]
    assert _ids(store, "emil zola") == []  # only the last word is a beginning
    assert _ids(store, "x 99") == ["msg-00000001"]
    assert _ids(store, "zola aurora") == []
    assert _ids(store, "aurora") == ["msg-00000002"]


def test_an_h3_message_is_found_by_its_header_only(store: Database) -> None:
    assert _ids(store, "subject 3") == ["msg-00000003"]
    assert _ids(store, "again") == []


def test_fields_and_dates(store: Database) -> None:
    assert _ids(store, crime_area="fraud") == ["msg-00000002"]
    assert _ids(store, handling="H3") == ["msg-00000003"]
    assert _ids(store, sender="cc@interpol") == ["msg-00000005"]
    assert _ids(store, since=AT.replace(day=3), until=AT.replace(day=5)) == [
        "msg-00000003",
        "msg-00000002",
    ]
    assert _ids(store) == ["msg-00000005", "msg-00000003", "msg-00000002", "msg-00000001"]


def test_the_index_follows_purge_and_correction(store: Database) -> None:
    with store.transaction() as conn:
        assert retention_store.purge(conn, "msg-00000001", actor="t", reason="r", now=AT)
        corrected = orjson.dumps({"body": "now about Balzac", "entities": []}).decode()
        assert retention_store.correct(
            conn, "msg-00000002", corrected, actor="t", reason="r", now=AT, by_message="m"
        )
    assert _ids(store, "zola") == ["msg-00000005"]
    assert _ids(store, "emile") == []
    assert _ids(store, "aurora") == []
    assert _ids(store, "balzac") == ["msg-00000002"]


def test_a_relayed_copy_delivered_here_later_is_indexed(store: Database) -> None:
    delivered = _row(6, content={"body": "relayed Zola", "entities": []})
    with store.transaction() as conn:
        message_store.replace_messages(conn, [delivered])
        message_store.add_to_mailboxes(conn, [("cc", delivered.id)], AT)
    assert _ids(store, "relayed") == ["msg-00000006"]


def test_pages_and_the_total(store: Database) -> None:
    query = search.Query("cc", "cc@interpol", limit=2, offset=1)
    found = search.search(store, query)
    assert [h.id for h in found.hits] == ["msg-00000003", "msg-00000002"]
    assert found.total == 4


def test_the_ascii_fast_path_cuts_as_the_general_one() -> None:
    # words() takes a byte table for ASCII text (the line's hot path) and a pattern for the
    # rest: both must give the same words, or a message would be found on one path only.
    import random
    import string

    rng = random.Random(15)
    for _ in range(5000):
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))
        assert search.words(text) == search.words(text + "é")[: len(search.words(text))]
        assert search.words(text) == search._SEPARATORS.sub(" ", text.casefold()).strip()


def test_the_total_is_counted_up_to_its_bound(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "MAX_COUNTED", 2)
    found = search.search(store, search.Query("cc", "cc@interpol", limit=1))
    assert [h.id for h in found.hits] == ["msg-00000005"]
    assert found.total == 3  # MAX_COUNTED + 1: "more than 2"
