"""Keyset paging (store/paging.py) of the inbox, sent, search results and the audit chain, on
the store the suite runs on (SQLite, or PostgreSQL with SECURELINE_TEST_DATABASE_URL): every
page walked older then newer again, a message arriving between two pages shifting nothing,
ties on the time broken by the id, and a forged cursor showing nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from secureline.store import audit as audit_store
from secureline.store import messages as message_store
from secureline.store import search
from secureline.store.database import Database
from secureline.store.paging import Keyset, Page
from tests.unit.store.test_audit_store import _row as _record

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _message(i: int, direction: str = "in", sender: str = "ops@europol", **kw: Any) -> Any:
    created = kw.pop("created_at", AT + timedelta(minutes=i))
    header = {
        "id": f"msg-{i:08d}",
        "sender": sender,
        "to": ["cc@interpol"],
        "kind": "information",
        "crime_area": "cyber-crime",
        "handling": "H0",
        "subject": f"vessel {i}",
        "case_ref": None,
        "created_at": created.isoformat(),
    }
    return message_store.MessageRow(
        id=header["id"],
        direction=direction,
        sender=sender,
        origin_node=sender.split("@")[1],
        header_json=orjson.dumps(header).decode(),
        content_json=orjson.dumps({"body": "", "entities": []}).decode(),
        content_jwe=None,
        envelope=None,
        created_at=created,
        stored_at=AT,
    )


def _receive(db: Database, numbers: range, unit: str = "cc") -> None:
    rows = [_message(i) for i in numbers]
    with db.transaction() as conn:
        message_store.insert_messages(conn, rows)
        message_store.add_to_mailboxes(conn, [(unit, r.id) for r in rows], AT)


def _inbox(db: Database, keyset: Keyset[int], unit: str = "cc") -> tuple[list[int], Page[Any, int]]:
    page = message_store.mailbox_listing(db, unit, keyset, 3)
    return [int(r.id[4:]) for _, r in page.rows], page


@pytest.fixture
def inbox(database: Database) -> Database:
    _receive(database, range(1, 9))  # 8 messages, pages of 3: 8 7 6 | 5 4 3 | 2 1
    return database


def test_the_inbox_walks_older_to_the_end_and_newer_back(inbox: Database) -> None:
    first, page = _inbox(inbox, Keyset())
    assert first == [8, 7, 6]
    assert page.newer is None
    assert page.older is not None
    second, page = _inbox(inbox, Keyset(before=page.older))
    assert second == [5, 4, 3]
    assert page.newer is not None
    assert page.older is not None
    last, page = _inbox(inbox, Keyset(before=page.older))
    assert last == [2, 1]
    assert page.older is None  # the end
    back, page = _inbox(inbox, Keyset(after=page.newer))
    assert back == [5, 4, 3]
    top, page = _inbox(inbox, Keyset(after=page.newer))
    assert top == [8, 7, 6]
    assert page.newer is None  # the newest page again


def test_a_newer_page_short_of_a_page_is_the_newest_page(inbox: Database) -> None:
    _, page = _inbox(inbox, Keyset())
    _, second = _inbox(inbox, Keyset(before=page.older))
    # newer than 3 are 4..8: more than a page, so [6 5 4]; newer than 6 are only 7 and 8,
    # less than a page: the newest page, whole
    assert _inbox(inbox, Keyset(after=second.rows[-1][0]))[0] == [6, 5, 4]
    assert _inbox(inbox, Keyset(after=page.rows[-1][0]))[0] == [8, 7, 6]


def test_a_message_arriving_between_two_pages_shifts_nothing(inbox: Database) -> None:
    _, page = _inbox(inbox, Keyset())
    _receive(inbox, range(9, 11))  # two new ones on top, as a person reads page 1
    assert _inbox(inbox, Keyset(before=page.older))[0] == [5, 4, 3]  # not [7 6 5]
    assert _inbox(inbox, Keyset())[0] == [10, 9, 8]


def test_a_cursor_never_reaches_another_units_mailbox(inbox: Database) -> None:
    _receive(inbox, range(20, 23), unit="other")
    for keyset in (Keyset(), Keyset(before=2**62), Keyset(after=0)):
        found, _ = _inbox(inbox, keyset)
        assert found
        assert all(i < 20 for i in found)
    assert _inbox(inbox, Keyset(before=0))[0] == []


def test_sent_pages_by_time_then_id_with_ties(database: Database) -> None:
    same = AT + timedelta(hours=1)
    rows = [_message(i, "out", "cc@interpol") for i in range(1, 4)]
    rows += [_message(i, "out", "cc@interpol", created_at=same) for i in range(4, 8)]
    rows += [_message(99, "out", "ncb@interpol")]  # another unit's
    with database.transaction() as conn:
        message_store.insert_messages(conn, rows)

    def ids(keyset: Keyset[Any]) -> tuple[list[int], Page[Any, Any]]:
        page = message_store.sent_listing(database, "cc@interpol", keyset, 3)
        return [int(r.id[4:]) for r in page.rows], page

    first, page = ids(Keyset())
    assert first == [7, 6, 5]  # the same time: the greater id first
    second, page = ids(Keyset(before=page.older))
    assert second == [4, 3, 2]
    assert page.older == (AT + timedelta(minutes=2), "msg-00000002")
    last, page = ids(Keyset(before=page.older))
    assert last == [1]
    assert page.older is None
    assert ids(Keyset(after=page.newer))[0] == [4, 3, 2]


def test_search_results_page_by_the_index_seq(inbox: Database) -> None:
    def found(keyset: Keyset[int]) -> search.Found:
        query = search.Query("cc", "cc@interpol", ("vessel",), limit=3, keyset=keyset)
        return search.search(inbox, query)

    first = found(Keyset())
    assert [h.id[-1] for h in first.hits] == ["8", "7", "6"]
    assert first.total == 8  # the total counts every match, whatever the page
    second = found(Keyset(before=first.older))
    assert [h.id[-1] for h in second.hits] == ["5", "4", "3"]
    assert second.older == second.hits[-1].seq
    assert second.newer == second.hits[0].seq
    last = found(Keyset(before=second.older))
    assert [h.id[-1] for h in last.hits] == ["2", "1"]
    assert last.older is None
    assert [h.id for h in found(Keyset(after=last.newer)).hits] == [h.id for h in second.hits]


def test_the_audit_chain_pages_newest_first_with_its_filters(database: Database) -> None:
    rows = [_record(seq, AT + timedelta(seconds=seq), obj=f"msg-{seq % 2}") for seq in range(1, 12)]
    with database.transaction() as conn:
        audit_store.append(conn, rows)
    page = audit_store.latest_records(database, obj="msg-1", limit=2)
    assert [r.seq for r in page.rows] == [11, 9]
    page = audit_store.latest_records(database, obj="msg-1", keyset=Keyset(before=9), limit=2)
    assert [r.seq for r in page.rows] == [7, 5]
    assert (page.older, page.newer) == (5, 7)
    page = audit_store.latest_records(database, obj="msg-1", keyset=Keyset(before=5), limit=2)
    assert [r.seq for r in page.rows] == [3, 1]
    assert page.older is None
    page = audit_store.latest_records(database, obj="msg-1", keyset=Keyset(after=5), limit=2)
    assert [r.seq for r in page.rows] == [9, 7]
