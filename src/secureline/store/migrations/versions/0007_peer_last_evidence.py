"""peers: the newest evidence each node signed that reached us

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Hand-written to match secureline.store.tables.peers exactly (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("peers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_evidence_kind", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("last_evidence_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
