"""messages: an index on the header's reply_to, for threads

Revision ID: 0009t
Revises: 0008s
Create Date: 2026-12-07

No column: ``reply_to`` stays in the signed header's JSON, and an expression index reads it
there (``json_extract`` on SQLite, ``->>`` on PostgreSQL; store/dialect.py), so that every
writer of messages keeps writing what it writes and a thread (the desk's
``/desk/messages/{id}/thread``) is found from the index instead of by reading every header.
An expression index is not in ``tables.py``: the models-and-migrations comparison skips it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from secureline.store.dialect import reply_to_expression

revision = "0009t"
down_revision = "0009a"
branch_labels = None
depends_on = None

INDEX = "ix_messages_reply_to"


def upgrade() -> None:
    expression = reply_to_expression(op.get_bind().dialect.name)
    op.create_index(INDEX, "messages", [sa.text(expression)])


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
