"""rules of sharing: grants, retention (review queue), tombstones

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Hand-written to match secureline.store.grants and secureline.store.retention exactly (a
test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=130), nullable=False),
        sa.Column("grantee", sa.String(length=63), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        sa.Column("until", TS, nullable=False),
        sa.Column("grant_json", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("carrier_id", sa.String(length=64), nullable=True),
        sa.Column("stored_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_message_id"), ["message_id"], unique=False)

    op.create_table(
        "retention",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("queued_at", TS, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_retention_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_retention")),
    )
    with op.batch_alter_table("retention", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_state_review_date"), ["state", "review_date"], unique=False
        )

    op.create_table(
        "tombstones",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("origin_node", sa.String(length=63), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("content_digest", sa.String(length=64), nullable=True),
        sa.Column("by_message", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_tombstones")),
    )
    with op.batch_alter_table("tombstones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tombstones_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    # Forward-only: a store is never migrated down; restore a backup instead.
    raise NotImplementedError("secureline migrations are forward-only")
