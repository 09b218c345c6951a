"""messages: who composed a message composed here (``author``)

Revision ID: 0009a
Revises: 0008s
Create Date: 2026-12-07

The four-eyes review of an alert needs its author; until this revision the audit chain was
the only place that named them. The column is NULL for messages from other nodes.

Backfill: a message composed here gets the actor of its first ``message.created`` audit
record (written in the same transaction as the message, so every such message has one unless
the node ran with the benchmark's ``--no-audit``). An actor too long for a username is left
out rather than cut: a cut name could be someone else's. Any row without a record keeps NULL,
which the review treats as it treated a message without the record before: no author known.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009a"
down_revision = "0008s"
branch_labels = None
depends_on = None

#: NAME in secureline.store.tables, written out so that this revision keeps its meaning
_NAME_LENGTH = 63
_messages = sa.table(
    "messages",
    sa.column("id", sa.String),
    sa.column("direction", sa.String),
    sa.column("author", sa.String),
)
_records = sa.table(
    "audit_records",
    sa.column("seq", sa.BigInteger),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("object", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author", sa.String(length=_NAME_LENGTH), nullable=True))
    m, r = _messages.c, _records.c
    # the first record's actor if it can be a username at all (else NULL, not cut short)
    first_created = (
        sa.select(sa.case((sa.func.length(r.actor) <= _NAME_LENGTH, r.actor), else_=None))
        .where(r.object == m.id, r.action == "message.created")
        .order_by(r.seq)
        .limit(1)
        .scalar_subquery()
    )
    op.get_bind().execute(
        sa.update(_messages).where(m.direction == "out").values(author=first_created)
    )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
