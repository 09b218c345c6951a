"""How a node's SQLite file is set up: what the line's durability and speed rely on."""

from __future__ import annotations

from pathlib import Path

from secureline.store.database import Database
from secureline.store.dialect import SQLITE_PAGE_SIZE


def _pragma(database: Database, name: str) -> object:
    with database.read() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def test_a_new_store_is_wal_fully_synchronous_with_large_pages(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    database.migrate()
    assert _pragma(database, "journal_mode") == "wal"
    assert _pragma(database, "synchronous") == 2  # FULL: committed means on disk
    assert _pragma(database, "page_size") == SQLITE_PAGE_SIZE == 16_384
    assert (tmp_path / "store.db").stat().st_mode & 0o777 == 0o600


def test_an_existing_store_keeps_its_page_size_and_its_rows(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    made_before = sqlite3.connect(path)  # as a store made before the change: 4 KiB pages
    made_before.execute("PRAGMA page_size=4096")
    made_before.execute("CREATE TABLE kept (v TEXT)")
    made_before.execute("INSERT INTO kept VALUES ('still here')")
    made_before.commit()
    made_before.close()
    database = Database(f"sqlite:///{path}")
    assert _pragma(database, "page_size") == 4096
    with database.read() as conn:
        assert conn.exec_driver_sql("SELECT v FROM kept").scalar_one() == "still here"
