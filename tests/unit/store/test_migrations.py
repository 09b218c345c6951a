from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

# imported for their side effect: they register their tables on metadata
import secureline.store.audit
import secureline.store.grants
import secureline.store.retention  # noqa: F401
from secureline.store.database import Database
from secureline.store.tables import metadata


def test_migrations_create_exactly_the_tables_the_code_declares(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrating_twice_changes_nothing(database: Database) -> None:
    database.migrate()
    with database.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_a_new_sqlite_store_is_private(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'node' / 'store.db'}")
    database.migrate()
    database.dispose()
    assert (tmp_path / "node" / "store.db").stat().st_mode & 0o777 == 0o600
