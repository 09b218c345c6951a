"""A migrated store per test: a SQLite file, or a PostgreSQL schema when
``SECURELINE_TEST_DATABASE_URL`` is set (e.g. ``postgresql://127.0.0.1/test``).

Self-contained on purpose: it is meant to move to the top-level conftest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from secureline.store.database import Database
from secureline.store.dialect import drop_schema

DATABASE_URL_ENV = "SECURELINE_TEST_DATABASE_URL"


@pytest.fixture
def database_factory(tmp_path: Path) -> Iterator[Callable[[str], Database]]:
    """Make as many migrated stores as a test needs (one per node), all dropped afterwards."""
    url = os.environ.get(DATABASE_URL_ENV)
    made: list[tuple[Database, str | None]] = []

    def make(name: str = "node") -> Database:
        if url:
            schema: str | None = f"t_{uuid4().hex[:12]}"
            db = Database(url, schema=schema)
        else:
            schema = None
            db = Database(f"sqlite:///{tmp_path / name}.db")
        made.append((db, schema))
        db.migrate()
        return db

    yield make
    for db, schema in made:
        db.dispose()
        if url and schema:
            drop_schema(url, schema)


@pytest.fixture
def database(database_factory: Callable[[str], Database]) -> Database:
    return database_factory("node")
