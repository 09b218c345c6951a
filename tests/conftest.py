"""Shared fixtures: where a test's nodes keep their stores.

By default every node gets its own SQLite file inside its node directory. When
``SECURELINE_TEST_DATABASE_URL`` is set (e.g. ``postgresql://127.0.0.1/test``), every node
gets a fresh schema on that server instead, dropped when the test ends.
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


def database_url() -> str | None:
    """The PostgreSQL server to test on, or None for SQLite."""
    return os.environ.get(DATABASE_URL_ENV) or None


class StoreFor:
    """``name -> (url, schema)`` for ``federation.build(..., store=...)``; remembers the
    PostgreSQL schemas it hands out so that :meth:`drop` removes them all."""

    def __init__(self) -> None:
        self.url = database_url()
        self.schemas: list[str] = []

    def __call__(self, name: str) -> tuple[str, str | None]:
        if self.url is None:
            return "sqlite:///store.db", None
        schema = f"t_{uuid4().hex[:10]}_{name.replace('-', '_')}"
        self.schemas.append(schema)
        return self.url, schema

    def drop(self) -> None:
        if self.url is None:
            return
        while self.schemas:
            drop_schema(self.url, self.schemas.pop())


@pytest.fixture
def store_for(tmp_path: Path) -> Iterator[StoreFor]:
    stores = StoreFor()
    yield stores
    stores.drop()


@pytest.fixture
def database_factory(tmp_path: Path) -> Iterator[Callable[[str], Database]]:
    """Make as many migrated stores as a test needs (one per node), all dropped afterwards.

    The same as ``tests/unit/store/conftest.py`` (which, being closer, wins there)."""
    url = database_url()
    made: list[tuple[Database, str | None]] = []

    def make(name: str = "node") -> Database:
        if url:
            schema: str | None = f"t_{uuid4().hex[:10]}_{name.replace('-', '_')}"
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
