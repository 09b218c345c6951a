"""held controls: a deletion or correction that arrived before its original

Revision ID: 0005d
Revises: 0005c
Create Date: 2026-12-03

Hand-written to match secureline.store.held_controls exactly (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005d"
down_revision = "0005c"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "held_controls",
        sa.Column("control_id", sa.String(length=64), nullable=False),
        sa.Column("original_id", sa.String(length=64), nullable=False),
        sa.Column("origin_node", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("held_at", TS, nullable=False),
        sa.Column("settled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("control_id", name=op.f("pk_held_controls")),
    )
    with op.batch_alter_table("held_controls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_held_controls_original_id"), ["original_id"], unique=False
        )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
