"""Comparing the migrated store with the tables the code declares, for the tests that do.

Migration 0009t's index reads ``reply_to`` out of the header's JSON: an expression index,
which ``tables.py`` cannot declare and SQLAlchemy does not reflect on SQLite (it warns);
PostgreSQL reflects it and would report it as not in the code. The comparison leaves that one
index out, and ``tests/unit/store/test_thread_index.py`` checks it instead; so is the search
index's engine part (FTS5's tables, the ``tsvector`` column), which no model declares.
"""

from __future__ import annotations

from typing import Any

import pytest
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from secureline.store.search import include_object

THREAD_INDEX = "ix_messages_reply_to"

#: only that index's warning is ignored
SKIPS_THE_THREAD_INDEX = pytest.mark.filterwarnings(
    f"ignore:Skipped unsupported reflection of expression-based index {THREAD_INDEX}"
)


def comparison(conn: Connection, **opts: Any) -> MigrationContext:
    return MigrationContext.configure(
        conn,
        opts={
            **opts,
            "include_object": lambda obj, name, type_, reflected, compare_to: (
                name != THREAD_INDEX and include_object(obj, name, type_, reflected, compare_to)
            ),
        },
    )
