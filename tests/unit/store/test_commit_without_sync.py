"""``Database.transaction(durable=False)``: committed and visible as any other, and the
connection goes back to the pool durable, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from secureline.store.database import Database


def _sync_setting(conn_db: Database) -> str:
    # Every pooled connection must be durable again: take them all and ask each.
    with conn_db.engine.connect() as conn:
        if conn_db.is_sqlite:
            return str(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
        return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())


def _durable(database: Database) -> str:
    return "2" if database.is_sqlite else "on"


def test_a_commit_without_sync_is_kept_and_leaves_the_connection_durable(
    database: Database,
) -> None:
    with database.transaction() as conn:
        conn.execute(text("CREATE TABLE kept (v TEXT)"))
    with database.transaction(durable=False) as conn:
        if database.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
        else:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"
        conn.execute(text("INSERT INTO kept VALUES ('claimed')"))
    with database.read() as conn:
        assert conn.execute(text("SELECT v FROM kept")).scalar_one() == "claimed"
    assert _sync_setting(database) == _durable(database)


def test_a_failed_commit_without_sync_rolls_back_and_leaves_the_connection_durable(
    database: Database,
) -> None:
    with database.transaction() as conn:
        conn.execute(text("CREATE TABLE kept (v TEXT)"))

    def claim_that_fails() -> None:
        with database.transaction(durable=False) as conn:
            conn.execute(text("INSERT INTO kept VALUES ('lost')"))
            raise RuntimeError("the claim failed")

    with pytest.raises(RuntimeError, match="the claim failed"):
        claim_that_fails()
    with database.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM kept")).scalar_one() == 0
    assert _sync_setting(database) == _durable(database)
    with database.transaction() as conn:  # the next write on it is durable again
        if database.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
        else:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
