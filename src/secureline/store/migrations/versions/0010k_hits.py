"""hits: the cross-check's queue of received messages, and the hits it found

Revision ID: 0010k
Revises: 0009h
Create Date: 2026-12-08

Hand-written to match secureline.store.hits exactly (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010k"
down_revision = "0009h"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "crosscheck_pending",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("queued_at", TS, nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_crosscheck_pending")),
        sa.UniqueConstraint("message_id", name=op.f("uq_crosscheck_pending_message_id")),
    )
    op.create_table(
        "hits",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=63), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("sender_node", sa.String(length=63), nullable=False),
        sa.Column("message_handling", sa.String(length=2), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("entity_schema", sa.String(length=40), nullable=False),
        sa.Column("entity_caption", sa.String(length=300), nullable=True),
        sa.Column("holding", sa.String(length=64), nullable=False),
        sa.Column("holding_source", sa.String(length=120), nullable=False),
        sa.Column("holding_entity_id", sa.String(length=200), nullable=False),
        sa.Column("holding_schema", sa.String(length=40), nullable=False),
        sa.Column("holding_caption", sa.String(length=300), nullable=True),
        sa.Column("holding_handling", sa.String(length=2), nullable=False),
        sa.Column("holding_message_id", sa.String(length=64), nullable=True),
        sa.Column("reasons_json", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hits")),
    )
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hits_unit_created_at"), ["unit", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hits_message_id"), ["message_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hits_holding_message_id"), ["holding_message_id"], unique=False
        )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
