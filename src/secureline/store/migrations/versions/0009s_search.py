"""search: the index of the messages people here may search (FTS5 / PostgreSQL full text)

Revision ID: 0009s
Revises: 0008s
Create Date: 2026-12-07

``search_docs`` holds one row per indexed message (store/search.py says which), its header's
fields and its words. The engine's own index beside it:

- SQLite: ``search_fts``, an FTS5 table with ``search_docs`` as its external content (the
  words are not stored twice), kept in step by three triggers;
- PostgreSQL: ``words_tsv``, a stored generated ``tsvector`` (``simple`` configuration: no
  stemming, no stop words, as FTS5's tokenizer) with a GIN index.

The messages already stored are indexed here, as the store indexes new ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from secureline.store import search
from secureline.store.messages import content_in_envelope

revision = "0009s"
down_revision = "0009t"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    op.create_table(
        "search_docs",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(5), nullable=False),
        sa.Column("sender", sa.String(130), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("crime_area", sa.String(40), nullable=False),
        sa.Column("handling", sa.String(4), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_search_docs_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_search_docs"),
        sa.UniqueConstraint("message_id", name="uq_search_docs_message_id"),
    )
    op.create_index("ix_search_docs_sender_created_at", "search_docs", ["sender", "created_at"])
    op.create_index("ix_search_docs_created_at", "search_docs", ["created_at"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(words, content='search_docs', "
            "content_rowid='seq', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_docs BEGIN "
            "INSERT INTO search_fts(rowid, words) VALUES (new.seq, new.words); END"
        )
        op.execute(
            "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_docs BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, words) "
            "VALUES ('delete', old.seq, old.words); END"
        )
        op.execute(
            "CREATE TRIGGER search_fts_update AFTER UPDATE ON search_docs BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, words) "
            "VALUES ('delete', old.seq, old.words); "
            "INSERT INTO search_fts(rowid, words) VALUES (new.seq, new.words); END"
        )
    else:
        op.execute(
            "ALTER TABLE search_docs ADD COLUMN words_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', words)) STORED"
        )
        op.execute("CREATE INDEX ix_search_docs_words_tsv ON search_docs USING gin (words_tsv)")
    _index_stored(op.get_bind())


def _content(envelope: str) -> str | None:
    try:
        return content_in_envelope(envelope)
    except (IndexError, ValueError):  # not an envelope this node wrote: indexed without
        return None


def _index_stored(conn: sa.Connection) -> None:
    # The rules of what is indexed are store/search.py's, as they are when this runs: an
    # index is rebuilt from the messages, so it takes the current rules, not frozen ones.
    m = sa.table(
        "messages",
        sa.column("id", sa.String),
        sa.column("direction", sa.String),
        sa.column("header_json", sa.Text),
        sa.column("content_json", sa.Text),
        sa.column("envelope", sa.Text),
        sa.column("purged_at", sa.DateTime(timezone=True)),
    )
    e = sa.table("envelopes", sa.column("message_id", sa.String), sa.column("envelope", sa.Text))
    last = ""
    while True:
        rows = conn.execute(
            sa.select(m.c.id, m.c.direction, m.c.header_json, m.c.content_json, m.c.envelope)
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
            found.append((r.id, r.direction, r.header_json, content))
        search.index(conn, found)
