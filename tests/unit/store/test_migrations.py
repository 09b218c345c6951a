from datetime import UTC, datetime
from pathlib import Path

import orjson
from alembic.autogenerate import compare_metadata
from sqlalchemy import text

# imported for their side effect: they register their tables on metadata
import secureline.store.accounts
import secureline.store.audit
import secureline.store.desk_auth
import secureline.store.grants
import secureline.store.held_controls
import secureline.store.holdings
import secureline.store.idempotency
import secureline.store.retention
import secureline.store.sessions
import secureline.store.taxii  # noqa: F401
from secureline.crypto.envelope import sign_envelope
from secureline.crypto.keys import generate_signing_key
from secureline.store import messages as message_store
from secureline.store.database import Database
from secureline.store.line import deliveries as delivery_store
from secureline.store.tables import metadata
from tests.conftest import StoreFor
from tests.support.migrations import SKIPS_THE_THREAD_INDEX, comparison


@SKIPS_THE_THREAD_INDEX
def test_migrations_create_exactly_the_tables_the_code_declares(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(comparison(conn), metadata)
    assert diff == []


@SKIPS_THE_THREAD_INDEX
def test_migrating_twice_changes_nothing(database: Database) -> None:
    database.migrate()
    with database.engine.connect() as conn:
        assert compare_metadata(comparison(conn), metadata) == []


def test_a_new_sqlite_store_is_private(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'node' / 'store.db'}")
    database.migrate()
    database.dispose()
    assert (tmp_path / "node" / "store.db").stat().st_mode & 0o777 == 0o600


def _store_at(revision: str, tmp_path: Path, store_for: StoreFor) -> Database:
    """A store as it was at ``revision``, to migrate from with rows in it."""
    url, schema = store_for(f"old{revision}")
    if schema is None:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(url, schema=schema)
    database.migrate(to=revision)
    return database


def test_queued_envelopes_move_to_their_own_table(tmp_path: Path, store_for: StoreFor) -> None:
    database = _store_at("0003", tmp_path, store_for)
    at = datetime(2026, 11, 29, tzinfo=UTC)
    with database.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO messages (id, direction, sender, origin_node, header_json, "
                "created_at, stored_at) VALUES ('msg-00000001', 'out', 'cc@a', 'a', '{}', "
                ":at, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (message_id, destination, next_hop, envelope, path, "
                "state, attempts, not_before, created_at, updated_at) VALUES ('msg-00000001', "
                "'b', 'b', 'signed-envelope', '[]', 'queued', 0, :at, :at, :at)"
            ),
            {"at": at},
        )
    database.migrate()
    claimed = delivery_store.claim_deliveries(database, "b", at, 10, 1_000_000)
    database.dispose()
    assert [(d.message_id, d.envelope) for d in claimed] == [("msg-00000001", "signed-envelope")]


def _envelope(content: str | None) -> str:
    body = {"content": content} if content is not None else {"content_jwe": "a.b.c.d.e"}
    payload = {"v": 1, "destination": "b", "header": {}, **body}
    return sign_envelope(orjson.dumps(payload), generate_signing_key("a"))


def test_content_is_kept_once_in_its_envelopes(tmp_path: Path, store_for: StoreFor) -> None:
    """0008s: a message whose envelopes carry its content in the clear keeps it there only;
    it reads back the same, and anything else is left as it was."""
    database = _store_at("0007", tmp_path, store_for)
    at = datetime(2026, 12, 4, tzinfo=UTC)
    content = '{"body": "caf\\u00e9 \\"quoted\\"", "entities": []}'
    forwarded = _envelope(content)
    # id: (direction, messages.envelope, the envelopes of a message composed or relayed here)
    rows = {
        "msg-in": ("in", _envelope(content), []),
        "msg-relay": ("relay", forwarded, [forwarded]),
        "msg-odd": ("in", _envelope('{"body": "other"}'), []),  # says something else
        "msg-out": ("out", None, [_envelope(content), _envelope(content)]),
        "msg-secret": ("out", None, [_envelope(None)]),  # confidential: ciphertext only
        "msg-local": ("out", None, []),  # no envelope at all
    }
    with database.transaction() as conn:
        for message_id, (direction, envelope, sent) in rows.items():
            values = {"id": message_id, "direction": direction, "content": content, "at": at}
            conn.execute(
                text(
                    "INSERT INTO messages (id, direction, sender, origin_node, header_json, "
                    "content_json, envelope, created_at, stored_at) VALUES (:id, :direction, "
                    "'cc@a', 'a', '{}', :content, :envelope, :at, :at)"
                ),
                {**values, "envelope": envelope},
            )
            for n, token in enumerate(sent):
                conn.execute(
                    text(
                        "INSERT INTO deliveries (message_id, destination, next_hop, path, "
                        "state, attempts, not_before, created_at, updated_at) VALUES (:id, "
                        ":to, :to, '[]', 'delivered', 0, :at, :at, :at)"
                    ),
                    {**values, "to": f"node{n}"},
                )
                conn.execute(
                    text("INSERT INTO envelopes VALUES (:id, :to, :envelope)"),
                    {**values, "to": f"node{n}", "envelope": token},
                )
    database.migrate()
    with database.read() as conn:
        stored = dict(conn.execute(text("SELECT id, content_json FROM messages")).all())
        kept = dict(conn.execute(text("SELECT id, envelope FROM messages")).all())
    read = {m: message_store.get_message(database, m) for m in rows}
    database.dispose()
    assert {m for m, c in stored.items() if c is None} == {"msg-in", "msg-relay", "msg-out"}
    assert {m: r.content_json for m, r in read.items() if r} == dict.fromkeys(rows, content)
    assert kept["msg-relay"] is None  # forwarded from envelopes, kept there once
    assert kept["msg-in"] == rows["msg-in"][1]


def test_the_author_of_each_message_composed_here_is_filled_from_the_audit_chain(
    tmp_path: Path, store_for: StoreFor
) -> None:
    """0009a on a store that already has messages: a message composed here gets the actor
    of its first ``message.created`` record; one from another node, one without a record
    and one whose actor cannot be a username keep no author."""
    database = _store_at("0008s", tmp_path, store_for)
    at = datetime(2026, 12, 7, tzinfo=UTC)
    messages = {"msg-out": "out", "msg-in": "in", "msg-unrecorded": "out", "msg-long": "out"}
    records = [  # (object, action, actor), in seq order
        ("msg-out", "message.created", "alice"),
        ("msg-out", "message.created", "mallory"),  # a later record is not the author
        ("msg-out", "alert.approved", "bob"),
        ("msg-in", "message.created", "carol"),  # never an author: not composed here
        ("msg-long", "message.created", "x" * 64),
    ]
    with database.transaction() as conn:
        for message_id, direction in messages.items():
            conn.execute(
                text(
                    "INSERT INTO messages (id, direction, sender, origin_node, header_json, "
                    "content_json, created_at, stored_at) VALUES (:id, :direction, 'cc@a', "
                    "'a', '{}', '{}', :at, :at)"
                ),
                {"id": message_id, "direction": direction, "at": at},
            )
        for seq, (obj, action, actor) in enumerate(records, start=1):
            conn.execute(
                text(
                    "INSERT INTO audit_records (seq, at, actor, action, object, outcome, "
                    "detail_json, prev_hash, hash) VALUES (:seq, :at, :actor, :action, :obj, "
                    "'ok', '{}', :h, :h)"
                ),
                {"seq": seq, "at": at, "actor": actor, "action": action, "obj": obj, "h": "0"},
            )
    database.migrate()
    with database.read() as conn:
        stored = dict(conn.execute(text("SELECT id, author FROM messages")).all())
    read = message_store.get_message(database, "msg-out")
    database.dispose()
    assert stored == {"msg-out": "alice", "msg-in": None, "msg-unrecorded": None, "msg-long": None}
    assert read is not None
    assert read.author == "alice"
