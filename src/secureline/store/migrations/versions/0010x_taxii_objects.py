"""taxii: the index of the STIX objects stored messages carry, for the TAXII server

Revision ID: 0010x
Revises: 0010p
Create Date: 2026-12-08

``stix_objects`` holds one row per STIX object of a stored message's STIX document
(store/taxii.py says which), with what TAXII pages and filters on and what decides who may
read it. The messages already stored are indexed here, as the store indexes new ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from secureline.store import taxii
from secureline.store.messages import content_in_envelope

revision = "0010x"
down_revision = "0010p"
branch_labels = None
depends_on = None

_BATCH = 500
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stix_objects",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("version", TS, nullable=False),
        sa.Column("date_added", TS, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(5), nullable=False),
        sa.Column("sender", sa.String(130), nullable=False),
        sa.Column("crime_area", sa.String(40), nullable=False),
        sa.Column("object_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_stix_objects_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_stix_objects"),
    )
    op.create_index("ix_stix_objects_date_added_seq", "stix_objects", ["date_added", "seq"])
    op.create_index("ix_stix_objects_object_id_version", "stix_objects", ["object_id", "version"])
    op.create_index("ix_stix_objects_message_id", "stix_objects", ["message_id"])
    _index_stored(op.get_bind())


def _content(envelope: str) -> str | None:
    try:
        return content_in_envelope(envelope)
    except (IndexError, ValueError):  # not an envelope this node wrote: not indexed
        return None


def _index_stored(conn: sa.Connection) -> None:
    # The rules of what is indexed are store/taxii.py's, as they are when this runs.
    m = sa.table(
        "messages",
        sa.column("id", sa.String),
        sa.column("direction", sa.String),
        sa.column("header_json", sa.Text),
        sa.column("content_json", sa.Text),
        sa.column("envelope", sa.Text),
        sa.column("stored_at", TS),
        sa.column("purged_at", TS),
    )
    e = sa.table("envelopes", sa.column("message_id", sa.String), sa.column("envelope", sa.Text))
    last = ""
    while True:
        rows = conn.execute(
            sa.select(
                m.c.id,
                m.c.direction,
                m.c.header_json,
                m.c.content_json,
                m.c.envelope,
                m.c.stored_at,
            )
            .where(m.c.id > last, m.c.direction.in_(("in", "out")), m.c.purged_at.is_(None))
            .order_by(m.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        sent = dict(
            conn.execute(
                sa.select(e.c.message_id, sa.func.min(e.c.envelope))
                .where(e.c.message_id.in_([r.id for r in rows]), e.c.envelope != "")
                .group_by(e.c.message_id)
            ).all()
        )
        found = []
        for r in rows:
            content = r.content_json
            envelope = r.envelope or sent.get(r.id)
            if content is None and envelope:
                content = _content(envelope)
            found.append((r.id, r.direction, r.header_json, content, r.stored_at))
        taxii.index(conn, found)


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
