from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

# imported for their side effect: they register their tables on metadata
import secureline.store.accounts
import secureline.store.audit
import secureline.store.desk_auth
import secureline.store.grants
import secureline.store.held_controls
import secureline.store.idempotency
import secureline.store.retention
import secureline.store.sessions  # noqa: F401
from secureline.store import line as line_store
from secureline.store.database import Database
from secureline.store.tables import metadata
from tests.conftest import StoreFor


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


def test_queued_envelopes_move_to_their_own_table(tmp_path: Path, store_for: StoreFor) -> None:
    url, schema = store_for("old")
    if schema is None:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(url, schema=schema)
    database.migrate(to="0003")
    at = datetime(2026, 11, 29, tzinfo=UTC)
    with database.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO messages (id, direction, sender, origin_node, header_json, "
                "created_at, stored_at) VALUES ('msg-00000001', 'out', 'cc@a', 'a', '{}', "
                ":at, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (message_id, destination, next_hop, envelope, path, "
                "state, attempts, not_before, created_at, updated_at) VALUES ('msg-00000001', "
                "'b', 'b', 'signed-envelope', '[]', 'queued', 0, :at, :at, :at)"
            ),
            {"at": at},
        )
    database.migrate()
    claimed = line_store.claim_deliveries(database, "b", at, 10, 1_000_000)
    database.dispose()
    assert [(d.message_id, d.envelope) for d in claimed] == [("msg-00000001", "signed-envelope")]
