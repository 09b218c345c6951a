"""Migration 0009t: threads are found from the index on the header's reply_to."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from sqlalchemy import text

from secureline.store import messages as message_store
from secureline.store import threads as thread_store
from secureline.store.database import Database


def _row(message_id: str, reply_to: str | None, direction: str = "in") -> message_store.MessageRow:
    now = datetime.now(UTC)
    header = {"id": message_id, "subject": "s", "reply_to": reply_to}
    return message_store.MessageRow(
        id=message_id,
        direction=direction,
        sender="cc@interpol" if direction == "in" else "ops@europol",
        origin_node="interpol",
        header_json=orjson.dumps(header).decode(),
        content_json="{}",
        content_jwe=None,
        envelope=None,
        created_at=now,
        stored_at=now,
    )


def test_replies_are_read_from_the_reply_to_index(database: Database) -> None:
    ids = [f"msg-{i:024x}" for i in range(4)]
    rows = [
        _row(ids[0], None),
        _row(ids[1], ids[0]),
        _row(ids[2], ids[0], "out"),
        _row(ids[3], ids[1]),
    ]
    with database.transaction() as conn:
        message_store.insert_messages(conn, rows)
        message_store.add_to_mailboxes(
            conn, [("ops", r.id) for r in rows if r.direction == "in"], datetime.now(UTC)
        )
    found = thread_store.replies(database, "ops", "ops@europol", [ids[0]], 10)
    assert sorted(r.id for r in found) == [ids[1], ids[2]]
    assert [
        r.id for r in thread_store.replies(database, "other", "other@europol", [ids[0]], 10)
    ] == []
    with database.engine.connect() as conn:
        if database.engine.dialect.name == "sqlite":
            plan = conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE "
                    "json_extract(header_json, '$.reply_to') IN (:a)"
                ),
                {"a": ids[0]},
            ).all()
            assert "ix_messages_reply_to" in " ".join(str(step) for step in plan)
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table otherwise
            steps = conn.execute(
                text(
                    "EXPLAIN SELECT id FROM messages WHERE "
                    "((header_json)::jsonb ->> 'reply_to') IN (:a)"
                ),
                {"a": ids[0]},
            )
            assert "ix_messages_reply_to" in " ".join(steps.scalars().all())
