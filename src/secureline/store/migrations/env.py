"""Alembic environment: migrations run on the connection the Database hands over."""

from __future__ import annotations

from alembic import context

# imported for their side effect: they register their tables on metadata
import secureline.store.accounts
import secureline.store.audit
import secureline.store.desk_auth
import secureline.store.grants
import secureline.store.held_controls
import secureline.store.hits
import secureline.store.holdings
import secureline.store.idempotency
import secureline.store.retention
import secureline.store.sessions
import secureline.store.taxii  # noqa: F401
from secureline.store.search import include_object
from secureline.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
