"""link state in the peers table: up, down or backing off, failed attempts, next attempt

Revision ID: 0005b
Revises: 0005a
Create Date: 2026-12-03

Hand-written to match secureline.store.tables exactly (a test compares them). Existing
peers start with no state (never tried) and no failed attempt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005b"
down_revision = "0005a"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("peers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("link_changed_at", TS, nullable=True))
        batch_op.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("next_attempt_at", TS, nullable=True))


def downgrade() -> None:
    # Forward-only: a store is never migrated down; restore a backup instead.
    raise NotImplementedError("secureline migrations are forward-only")
