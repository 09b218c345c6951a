"""peers: what each peer last stated it supports on the line

Revision ID: 0010c
Revises: 0010k
Create Date: 2026-12-08

A node states its protocol version and kinds, signed, in every transaction and answer
(docs/protocol.md §3c); the latest statement of each peer is kept in its row, so that every
worker of the node reads the same one. Hand-written to match secureline.store.tables.peers
exactly (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010c"
down_revision = "0010k"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("peers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stated_protocol", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stated_kinds", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("stated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
