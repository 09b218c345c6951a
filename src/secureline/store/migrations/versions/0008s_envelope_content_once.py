"""messages: content that an envelope carries in the clear is read from it, not kept twice

Revision ID: 0008s
Revises: 0008d
Create Date: 2026-12-04

No schema change: ``content_json`` is set to NULL where the message's envelopes carry the
very same content in the clear, as a node stores them since this revision: a received or
relayed message's own envelope (``messages.envelope``), or every envelope of a message
composed here (``envelopes``). Any other row keeps its column as it was. A relay's row no
longer keeps the envelope it forwards either: that is in ``envelopes``.
"""

from __future__ import annotations

from collections import defaultdict

import orjson
import sqlalchemy as sa
from alembic import op

from secureline.crypto.encoding import b64url_decode

revision = "0008s"
down_revision = "0008d"
branch_labels = None
depends_on = None

_BATCH = 500
_messages = sa.table(
    "messages",
    sa.column("id", sa.String),
    sa.column("direction", sa.String),
    sa.column("content_json", sa.Text),
    sa.column("content_jwe", sa.Text),
    sa.column("envelope", sa.Text),
    sa.column("purged_at", sa.DateTime(timezone=True)),
)
_envelopes = sa.table(
    "envelopes",
    sa.column("message_id", sa.String),
    sa.column("envelope", sa.Text),
)


def _content(envelope: str) -> object:
    # As store/messages.py reads it, written out here so that this revision keeps its meaning
    # whatever that module becomes.
    return orjson.loads(b64url_decode(envelope.split(".", 2)[1])).get("content")


def _sent(conn: sa.Connection, ids: list[str]) -> dict[str, list[str]]:
    """The non-empty envelopes of these messages composed here."""
    e = _envelopes.c
    found: dict[str, list[str]] = defaultdict(list)
    rows = conn.execute(
        sa.select(e.message_id, e.envelope).where(e.message_id.in_(ids), e.envelope != "")
    )
    for message_id, envelope in rows:
        found[message_id].append(envelope)
    return found


def upgrade() -> None:
    conn = op.get_bind()
    _content_once(conn)
    m, e = _messages.c, _envelopes.c
    forwarded = sa.exists().where(e.message_id == m.id, e.envelope == m.envelope)
    conn.execute(
        sa.update(_messages).where(m.direction == "relay", forwarded).values(envelope=None)
    )


def _content_once(conn: sa.Connection) -> None:
    m = _messages.c
    after = ""
    while True:
        rows = conn.execute(
            sa.select(m.id, m.direction, m.content_json, m.envelope)
            .where(
                m.id > after,
                m.content_json.is_not(None),
                m.content_jwe.is_(None),
                m.purged_at.is_(None),
            )
            .order_by(m.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        sent = _sent(conn, [r.id for r in rows if r.direction == "out"])
        kept_once = [
            {"key": r.id}
            for r in rows
            if (envelopes := [r.envelope] if r.envelope else sent.get(r.id, []))
            and all(_content(e) == r.content_json for e in envelopes)
        ]
        if kept_once:
            conn.execute(
                sa.update(_messages).where(m.id == sa.bindparam("key")).values(content_json=None),
                kept_once,
            )
        after = rows[-1].id


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
