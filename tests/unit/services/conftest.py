"""The services' tests use the store fixtures (real SQLite files or PostgreSQL schemas)."""

from __future__ import annotations

from tests.unit.store.conftest import database, database_factory

__all__ = ["database", "database_factory"]
