"""What the benchmarks count as a store's size (``dialect.stored_bytes``), on both stores."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from secureline.store import dialect
from secureline.store.database import Database
from secureline.store.tables import evidence_tokens
from tests.conftest import database_url

ROWS = 200
TOKEN = secrets.token_urlsafe(3000)  # 4,000 characters a row, like an envelope; random, as
# signed and encrypted text is (PostgreSQL compresses what it can: six bits of each byte remain)


def _fill(database: Database) -> None:
    with database.transaction() as conn:
        conn.execute(
            insert(evidence_tokens),
            [
                {"id": f"t{i}", "issuer": "n", "token": TOKEN, "stored_at": datetime.now(UTC)}
                for i in range(ROWS)
            ],
        )


def test_the_store_grows_by_at_least_the_bytes_written(database: Database) -> None:
    before = dialect.stored_bytes(database.url, database.schema)
    _fill(database)
    dialect.checkpoint(database.url)
    grown = dialect.stored_bytes(database.url, database.schema) - before
    assert grown >= ROWS * len(TOKEN) * 6 // 8


@pytest.mark.skipif(bool(database_url()), reason="PostgreSQL: checkpoint does nothing")
def test_a_checkpoint_moves_sqlites_log_into_the_file_and_empties_it(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    database.migrate()
    _fill(database)
    wal = tmp_path / "store.db-wal"
    assert wal.stat().st_size > 0
    total = dialect.stored_bytes(database.url, None)
    assert total == (tmp_path / "store.db").stat().st_size + wal.stat().st_size
    dialect.checkpoint(database.url)
    assert wal.stat().st_size == 0
    with database.read() as conn:  # nothing lost on the way
        assert conn.execute(evidence_tokens.select()).all()[ROWS - 1].token == TOKEN
    database.dispose()
