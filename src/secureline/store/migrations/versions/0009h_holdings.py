"""holdings: the index of what the node holds, and the keys the matcher blocks on

Revision ID: 0009h
Revises: 0008s
Create Date: 2026-12-07

Hand-written to match secureline.store.holdings exactly (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009h"
down_revision = "0009s"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "holdings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("schema", sa.String(length=40), nullable=False),
        sa.Column("caption", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=63), nullable=False),
        sa.Column("handling", sa.String(length=2), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("entity_json", sa.Text(), nullable=False),
        sa.Column("indexed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_holdings")),
    )
    with op.batch_alter_table("holdings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holdings_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_holdings_message_id"), ["message_id"], unique=False)
    op.create_table(
        "holding_keys",
        sa.Column("holding", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=160), nullable=False),
    )
    with op.batch_alter_table("holding_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_holding_keys_kind_value"), ["kind", "value"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_holding_keys_holding"), ["holding"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
