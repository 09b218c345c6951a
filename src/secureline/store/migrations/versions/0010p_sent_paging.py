"""messages: an index on (sender, created_at, id), for the sent list's pages

Revision ID: 0010p
Revises: 0010c
Create Date: 2026-12-08

The desk's sent list (and ``Messaging.sent``) reads a unit's messages newest first, a page at
a time by the key ``(created_at, id)`` (store/paging.py). Without this index every page
sorted every message the node had composed.
"""

from __future__ import annotations

from alembic import op

revision = "0010p"
down_revision = "0010c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_sender_created_at_id"),
            ["sender", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
