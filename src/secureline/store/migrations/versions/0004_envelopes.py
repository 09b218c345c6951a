"""envelopes apart from deliveries: a delivery's state changes rewrite a small row

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Hand-written to match secureline.store.tables exactly (a test compares them). Envelopes
already queued or sent move to the new table in the same migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _envelope_columns() -> list[sa.Column[str]]:
    # Fresh objects on each call: a Column belongs to the one table it is given to.
    return [
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=63), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    # The envelopes wait in a plain table while deliveries loses its column: SQLite's batch
    # mode rebuilds deliveries, which it could not drop with envelopes referring to it.
    op.create_table("_envelopes_moving", *_envelope_columns())
    op.execute(
        "INSERT INTO _envelopes_moving (message_id, destination, envelope) "
        "SELECT message_id, destination, envelope FROM deliveries"
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("envelope")
    op.create_table(
        "envelopes",
        *_envelope_columns(),
        sa.ForeignKeyConstraint(
            ["message_id", "destination"],
            ["deliveries.message_id", "deliveries.destination"],
            name=op.f("fk_envelopes_message_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("message_id", "destination", name=op.f("pk_envelopes")),
    )
    op.execute(
        "INSERT INTO envelopes (message_id, destination, envelope) "
        "SELECT message_id, destination, envelope FROM _envelopes_moving"
    )
    op.drop_table("_envelopes_moving")


def downgrade() -> None:
    # Forward-only: a store is never migrated down; restore a backup instead.
    raise NotImplementedError("secureline migrations are forward-only")
