"""Alembic environment: migrations run on the connection the Database hands over."""

from __future__ import annotations

from alembic import context

import secureline.store.audit  # noqa: F401  (registers the audit tables on metadata)
from secureline.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
