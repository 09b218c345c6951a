"""The audit chain: tampering in the database is found and the first wrong record named.

Attacks are written as an administrator with database access would do them: plain SQL
updates, deletes and inserts, sometimes recomputing hashes (the algorithm is public) and,
for the partner test, even re-signing with the node's own key.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from secureline.crypto.envelope import sign_envelope
from secureline.crypto.keys import SigningKey, generate_signing_key
from secureline.domain.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEvent,
    AuditRecord,
    InvalidAuditData,
    checkpoint_payload,
    decode_detail,
    encode_detail,
    parse_checkpoint_payload,
    record_hash,
)
from secureline.services.audit import (
    CHECKPOINT_TYP,
    AuditChainBroken,
    AuditError,
    AuditLog,
    Checkpoint,
    read_export,
)
from secureline.store import audit as store
from secureline.store.database import Database
from tests.support.audit_attacks import rewrite_history

T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)

ISSUE_5_EVENTS = {
    "holdings.imported",
    "match.searched",
    "hit.created",
    "hit.decided",
    "login.success",
    "login.failure",
    "session.ended",
    "message.created",
    "message.sent",
    "message.received",
    "message.relayed",
    "message.read",
    "message.refused",
    "message.exported",
    "interop.imported",
    "message.purged",
    "message.corrected",
    "policy.decision",
    "permission.requested",
    "permission.granted",
    "permission.refused",
    "user.changed",
    "unit.changed",
    "peer.changed",
    "agreement.changed",
    "key.changed",
    "config.changed",
    "token.changed",
    "alert.approved",
    "alert.rejected",
    "audit.exported",
    "audit.partner_checkpoint",  # cross-anchoring: a partner checkpoint we refused to keep
}


class Clock:
    """A clock the test moves; every call returns the current time and then ticks 1 ms."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(milliseconds=1)
        return now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def alpha_key() -> SigningKey:
    return generate_signing_key("alpha")


@pytest.fixture(scope="module")
def bravo_key() -> SigningKey:
    return generate_signing_key("bravo")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log(database: Database, alpha_key: SigningKey, clock: Clock) -> AuditLog:
    return AuditLog(database, "alpha", alpha_key, checkpoint_every=5, clock=clock)


def _event(i: int, action: AuditAction = AuditAction.MESSAGE_READ) -> AuditEvent:
    return AuditEvent(
        actor=f"user-{i % 3}@alpha",
        action=action,
        object=f"msg-{i % 4}",
        detail={"unit": "ncb", "n": str(i)},
    )


def _fill(log: AuditLog, count: int, batch: int = 1) -> None:
    for start in range(0, count, batch):
        log.append([_event(i) for i in range(start, min(count, start + batch))])


def _set(db: Database, seq: int, **values: Any) -> None:
    with db.transaction() as conn:
        conn.execute(
            update(store.audit_records).where(store.audit_records.c.seq == seq).values(**values)
        )


def _shift(db: Database, from_seq: int, by: int) -> None:
    """Renumber records ``from_seq``.. by ``by`` (row by row, so the PK never collides)."""
    seqs = [r.seq for r in store.iter_records(db, from_seq=from_seq)]
    with db.transaction() as conn:
        for seq in sorted(seqs, reverse=by > 0):
            conn.execute(
                update(store.audit_records)
                .where(store.audit_records.c.seq == seq)
                .values(seq=seq + by)
            )


def _forged_row(seq: int, prev_hash: str, at: datetime = T0) -> store.RecordRow:
    """A record an attacker computes correctly: the hash algorithm is public."""
    detail = {"why": "cover story"}
    digest = record_hash(prev_hash, seq, at, "mallory", "message.read", "msg-1", "ok", detail)
    return store.RecordRow(
        seq, at, "mallory", "message.read", "msg-1", "ok", encode_detail(detail), prev_hash, digest
    )


def _broken_at(log: AuditLog) -> AuditChainBroken:
    with pytest.raises(AuditChainBroken) as caught:
        log.verify()
    return caught.value


# --- the events ----------------------------------------------------------------------------


def test_every_event_of_issue_5_is_an_action() -> None:
    assert {action.value for action in AuditAction} == ISSUE_5_EVENTS


def test_each_action_produces_exactly_one_record(log: AuditLog) -> None:
    for action in AuditAction:
        log.append([AuditEvent(actor=f"actor-{action}", action=action, object=f"obj-{action}")])
    records = list(log.records())
    assert len(records) == len(AuditAction)
    for action in AuditAction:
        (record,) = [r for r in records if r.action == action.value]
        assert (record.actor, record.object, record.outcome) == (
            f"actor-{action}",
            f"obj-{action}",
            "ok",
        )
    log.verify()


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"actor": ""}, "actor"),
        ({"object": "x" * 201}, "object"),
        ({"outcome": "a\x00b"}, "outcome"),
        ({"action": "message.teleported"}, "unknown action"),
        ({"detail": {"n": 1}}, "detail"),
        ({"actor": "\udc80"}, "surrogate"),
        ({"detail": {"n": "\ud800"}}, "surrogate"),
        ({"detail": {"a\x00": "1"}}, "NUL"),
        ({"actor": None}, "actor"),
        ({"outcome": "o" * 41}, "outcome"),
    ],
)
def test_invalid_events_are_refused(fields: dict[str, Any], match: str) -> None:
    base: dict[str, Any] = {"actor": "u", "action": "message.read", "object": "m"}
    with pytest.raises(InvalidAuditData, match=match):
        AuditEvent(**(base | fields))


def test_valid_text_beyond_ascii_is_kept_as_it_is() -> None:
    event = AuditEvent(
        actor="josé@europol", action="message.read", object="m", detail={"ciudad": "Málaga"}
    )
    assert (event.actor, event.detail) == ("josé@europol", {"ciudad": "Málaga"})


def test_event_keeps_its_own_copy_of_the_detail() -> None:
    detail = {"a": "1"}
    event = AuditEvent(actor="u", action=AuditAction.MESSAGE_READ, object="m", detail=detail)
    detail["a"] = "2"
    assert event.detail == {"a": "1"}


def test_record_hash_encoding_is_the_documented_json() -> None:
    # docs/protocol.md cites this encoding; an independent implementation must agree.
    import hashlib

    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    detail = {"z": 'quote"\n', "a": "é"}
    text = json.dumps(
        [
            "secureline-audit-record/1",
            GENESIS_HASH,
            1,
            "2026-01-02T03:04:05.000006Z",
            "u",
            "message.read",
            "m",
            "ok",
            [["a", "é"], ["z", 'quote"\n']],
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert record_hash(GENESIS_HASH, 1, at, "u", "message.read", "m", "ok", detail) == expected


def test_detail_must_be_canonical() -> None:
    assert decode_detail('{"a":"1","b":"2"}') == {"a": "1", "b": "2"}
    with pytest.raises(InvalidAuditData, match="canonical"):
        decode_detail('{"b":"2","a":"1"}')
    with pytest.raises(InvalidAuditData, match="canonical"):
        decode_detail('{"a": "1"}')


# --- appending and checkpoints -------------------------------------------------------------


def test_empty_chain_verifies(log: AuditLog) -> None:
    log.verify()
    assert log.latest_checkpoint() is None


def test_records_chain_from_genesis(log: AuditLog) -> None:
    _fill(log, 7, batch=3)
    records = list(log.records())
    assert [r.seq for r in records] == list(range(1, 8))
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
    assert all(r.expected_hash() == r.hash for r in records)
    log.verify()


def test_record_joins_the_callers_transaction(log: AuditLog, database: Database) -> None:
    class Boom(Exception):
        pass

    def fails_after_recording() -> None:
        with database.transaction() as conn:
            log.record(conn, [_event(1)])
            raise Boom

    with pytest.raises(Boom):
        fails_after_recording()
    assert list(log.records()) == []
    log.append([_event(2)])
    assert [r.seq for r in log.records()] == [1]
    log.verify()


def test_checkpoint_every_n_records(log: AuditLog, database: Database) -> None:
    _fill(log, 12)
    assert [c.seq for c in store.iter_checkpoints(database)] == [5, 10]
    _fill(log, 9, batch=9)  # a batch crossing a multiple is checkpointed at its end
    assert [c.seq for c in store.iter_checkpoints(database)] == [5, 10, 21]
    latest = log.latest_checkpoint()
    assert latest is not None
    assert latest.seq == 21
    assert latest.head_hash == next(store.iter_records(database, from_seq=21)).hash


def test_checkpoint_after_t_seconds(
    database: Database, alpha_key: SigningKey, clock: Clock
) -> None:
    log = AuditLog(database, "alpha", alpha_key, checkpoint_every=1000, clock=clock)
    _fill(log, 3)
    clock.advance(61)
    _fill(log, 1)
    _fill(log, 2)
    assert [c.seq for c in store.iter_checkpoints(database)] == [4]
    clock.advance(61)
    restarted = AuditLog(database, "alpha", alpha_key, checkpoint_every=1000, clock=clock)
    _fill(restarted, 1)  # a restarted node reads when it last signed
    assert [c.seq for c in store.iter_checkpoints(database)] == [4, 7]


def test_checkpoint_now_and_not_twice_for_one_head(log: AuditLog) -> None:
    empty = log.checkpoint()
    assert (empty.seq, empty.head_hash) == (0, GENESIS_HASH)
    _fill(log, 3)
    made = log.checkpoint()
    assert made.seq == 3
    assert log.checkpoint() == made
    statement = parse_checkpoint_payload(
        checkpoint_payload(made.node, made.seq, made.head_hash, made.at)
    )
    assert (statement.node, statement.seq, statement.head_hash) == ("alpha", 3, made.head_hash)
    log.verify()


def test_records_waiting_unsigned_are_signed_once_they_are_checkpoint_seconds_old(
    database: Database, alpha_key: SigningKey, clock: Clock
) -> None:
    log = AuditLog(database, "alpha", alpha_key, checkpoint_every=1000, clock=clock)
    assert log.checkpoint_if_due() is None  # an empty chain: nothing to sign
    _fill(log, 3)  # then the node goes quiet: no append will sign these
    assert list(store.iter_checkpoints(database)) == []
    clock.advance(59)
    assert log.checkpoint_if_due() is None  # not yet 60 s
    clock.advance(1)
    made = log.checkpoint_if_due()
    assert made is not None
    assert made.seq == 3
    assert log.checkpoint_if_due() is None  # the head has not moved since
    _fill(log, 2)
    clock.advance(30)
    assert log.checkpoint_if_due() is None  # waiting, but only for 30 s
    clock.advance(30)
    assert log.checkpoint_if_due() is not None
    assert [c.seq for c in store.iter_checkpoints(database)] == [3, 5]
    log.verify()


def test_a_checkpoint_waits_for_an_appending_transaction_instead_of_blocking_it(
    log: AuditLog, database: Database
) -> None:
    """The transaction comes first, then the append lock, for appends and checkpoints alike.

    The other order deadlocked on SQLite: the checkpoint held the append lock while it waited
    for the write lock, which the appending transaction held while it waited for the append
    lock (until the 30 s busy timeout failed the checkpoint)."""
    inside, appended = threading.Event(), threading.Event()
    checkpoints: list[Checkpoint] = []

    def appender() -> None:
        with database.transaction() as conn:
            inside.set()
            time.sleep(0.3)  # meanwhile the checkpoint below starts
            log.record(conn, [_event(1)])
        appended.set()

    writer = threading.Thread(target=appender)
    writer.start()
    assert inside.wait(5)
    signer = threading.Thread(target=lambda: checkpoints.append(log.checkpoint()))
    signer.start()
    assert appended.wait(5), "the appending transaction was blocked by the checkpoint"
    writer.join(5)
    signer.join(5)
    # SQLite serialises the two (the checkpoint signs after the append); PostgreSQL may sign
    # the empty head first, since the appender locks the head only when it appends.
    assert [c.seq for c in checkpoints] in ([1], [0])
    log.verify()


def test_concurrent_appends_make_one_chain(log: AuditLog) -> None:
    def worker(n: int) -> None:
        for i in range(20):
            log.append([_event(n * 100 + i), _event(n * 100 + i + 50)])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.seq for r in log.records()] == list(range(1, 161))
    log.verify()


def test_two_workers_share_one_chain(
    database: Database, alpha_key: SigningKey, clock: Clock
) -> None:
    # Two AuditLogs over one store stand for two worker processes of one node.
    first = AuditLog(database, "alpha", alpha_key, checkpoint_every=3, clock=clock)
    second = AuditLog(database, "alpha", alpha_key, checkpoint_every=3, clock=clock)
    for i in range(10):
        (first if i % 2 else second).append([_event(i)])
    first.verify()
    assert [r.seq for r in second.records()] == list(range(1, 11))


def test_naive_clock_is_refused(database: Database, alpha_key: SigningKey) -> None:
    log = AuditLog(database, "alpha", alpha_key, clock=lambda: datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(AuditError, match="timezone-aware"):
        log.append([_event(1)])


# --- tampering: each names the exact record ------------------------------------------------


def test_flipped_byte_in_actor_names_that_record(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    _set(database, 4, actor="user-1@alphb")
    broken = _broken_at(log)
    assert broken.seq == 4
    assert "hash does not match" in broken.reason


def test_flipped_byte_in_detail_names_that_record(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    original = next(store.iter_records(database, from_seq=7)).detail_json
    _set(database, 7, detail_json=original.replace("ncb", "ncc"))
    assert _broken_at(log).seq == 7


def test_non_canonical_detail_names_that_record(log: AuditLog, database: Database) -> None:
    _fill(log, 5)
    _set(database, 2, detail_json='{"unit": "ncb", "n": "1"}')
    broken = _broken_at(log)
    assert broken.seq == 2
    assert "detail" in broken.reason


def test_deleted_record_names_the_missing_seq(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    with database.transaction() as conn:
        conn.execute(delete(store.audit_records).where(store.audit_records.c.seq == 6))
    broken = _broken_at(log)
    assert broken.seq == 6
    assert "missing" in broken.reason


def test_deleted_and_renumbered_names_the_missing_seq(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    with database.transaction() as conn:
        conn.execute(delete(store.audit_records).where(store.audit_records.c.seq == 6))
    _shift(database, 7, -1)
    assert _broken_at(log).seq == 6


def test_deleted_last_record_names_it(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    with database.transaction() as conn:
        conn.execute(delete(store.audit_records).where(store.audit_records.c.seq == 10))
    assert _broken_at(log).seq == 10


def test_forged_record_inserted_in_the_middle_is_named(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    _shift(database, 5, +1)
    prev = next(store.iter_records(database, from_seq=4)).hash
    with database.transaction() as conn:
        store.append(conn, [_forged_row(5, prev)])
    broken = _broken_at(log)
    assert broken.seq == 5
    assert "inserted" in broken.reason


def test_forged_record_appended_past_the_head_is_named(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    last = list(store.iter_records(database))[-1]
    with database.transaction() as conn:
        store.append(conn, [_forged_row(11, last.hash)])
    broken = _broken_at(log)
    assert broken.seq == 11
    assert "beyond the audit head" in broken.reason


def test_sloppy_forged_record_is_named(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    _shift(database, 5, +1)
    with database.transaction() as conn:
        store.append(conn, [_forged_row(5, "f" * 64)])
    assert _broken_at(log).seq == 5


@pytest.mark.parametrize(("first", "second"), [(3, 4), (3, 8)])
def test_reordered_records_name_the_first_moved(
    log: AuditLog, database: Database, first: int, second: int
) -> None:
    _fill(log, 10)
    with database.transaction() as conn:
        table = store.audit_records
        conn.execute(update(table).where(table.c.seq == first).values(seq=-1))
        conn.execute(update(table).where(table.c.seq == second).values(seq=first))
        conn.execute(update(table).where(table.c.seq == -1).values(seq=second))
    assert _broken_at(log).seq == first


def test_rewritten_record_with_recomputed_hash_is_named(log: AuditLog, database: Database) -> None:
    _fill(log, 10)
    row = next(store.iter_records(database, from_seq=4))
    forged = record_hash(
        row.prev_hash,
        4,
        row.at,
        "someone-else",
        row.action,
        row.object,
        row.outcome,
        decode_detail(row.detail_json),
    )
    _set(database, 4, actor="someone-else", hash=forged)
    broken = _broken_at(log)
    assert broken.seq == 4
    assert "rewritten" in broken.reason


def test_head_moved_back_is_found(log: AuditLog, database: Database) -> None:
    _fill(log, 6)
    with database.transaction() as conn:
        row = next(store.iter_records(conn, from_seq=5))
        store.set_head(conn, store.Head(5, row.hash))
    assert _broken_at(log).seq == 6


def test_head_with_a_different_hash_is_found(log: AuditLog, database: Database) -> None:
    _fill(log, 6)
    with database.transaction() as conn:
        store.set_head(conn, store.Head(6, "e" * 64))
    broken = _broken_at(log)
    assert broken.seq == 6
    assert "head" in broken.reason


def test_missing_head_is_found(log: AuditLog, database: Database) -> None:
    _fill(log, 3)
    with database.transaction() as conn:
        conn.execute(delete(store.audit_head))
    assert _broken_at(log).seq == 3


# --- tampering with checkpoints ------------------------------------------------------------


def _set_checkpoint(db: Database, seq: int, **values: Any) -> None:
    table = store.audit_checkpoints
    with db.transaction() as conn:
        conn.execute(update(table).where(table.c.seq == seq).values(**values))


def test_checkpoint_signed_by_another_key_under_our_kid_is_caught(
    log: AuditLog, database: Database, alpha_key: SigningKey, bravo_key: SigningKey
) -> None:
    _fill(log, 8)
    cp = next(c for c in store.iter_checkpoints(database) if c.seq == 5)
    impostor = SigningKey(kid=alpha_key.kid, private=bravo_key.private)
    token = sign_envelope(
        checkpoint_payload("alpha", 5, cp.head_hash, cp.at), impostor, typ=CHECKPOINT_TYP
    )
    _set_checkpoint(database, 5, token=token)
    broken = _broken_at(log)
    assert broken.seq == 5
    assert "bad_signature" in broken.reason


def test_checkpoint_signed_by_an_unknown_key_is_caught(
    log: AuditLog, database: Database, bravo_key: SigningKey
) -> None:
    _fill(log, 8)
    cp = next(c for c in store.iter_checkpoints(database) if c.seq == 5)
    token = sign_envelope(
        checkpoint_payload("alpha", 5, cp.head_hash, cp.at), bravo_key, typ=CHECKPOINT_TYP
    )
    _set_checkpoint(database, 5, token=token)
    broken = _broken_at(log)
    assert broken.seq == 5
    assert "unknown_key" in broken.reason


def test_checkpoint_row_edited_without_resigning_is_caught(
    log: AuditLog, database: Database
) -> None:
    _fill(log, 8)
    _set_checkpoint(database, 5, head_hash="d" * 64)
    broken = _broken_at(log)
    assert broken.seq == 5
    assert "differs from what was signed" in broken.reason


def test_checkpoint_resigned_over_a_wrong_head_is_caught(
    log: AuditLog, database: Database, alpha_key: SigningKey
) -> None:
    _fill(log, 8)
    cp = next(c for c in store.iter_checkpoints(database) if c.seq == 5)
    token = sign_envelope(
        checkpoint_payload("alpha", 5, "d" * 64, cp.at), alpha_key, typ=CHECKPOINT_TYP
    )
    _set_checkpoint(database, 5, head_hash="d" * 64, token=token)
    broken = _broken_at(log)
    assert broken.seq == 5
    assert "different head" in broken.reason


def test_checkpoint_beyond_the_chain_is_caught(
    log: AuditLog, database: Database, alpha_key: SigningKey
) -> None:
    _fill(log, 3)
    token = sign_envelope(
        checkpoint_payload("alpha", 9, "d" * 64, T0), alpha_key, typ=CHECKPOINT_TYP
    )
    with database.transaction() as conn:
        store.save_checkpoint(conn, store.CheckpointRow(9, T0, "d" * 64, token))
    assert _broken_at(log).seq == 9


def test_retired_key_still_verifies_old_checkpoints(
    database: Database, alpha_key: SigningKey, clock: Clock
) -> None:
    old = AuditLog(database, "alpha", alpha_key, checkpoint_every=2, clock=clock)
    _fill(old, 4)
    new_key = generate_signing_key("alpha")
    keys = {alpha_key.kid: alpha_key.verify_key(), new_key.kid: new_key.verify_key()}
    rotated = AuditLog(
        database, "alpha", new_key, checkpoint_every=2, clock=clock, verify_keys=keys
    )
    _fill(rotated, 4)
    rotated.verify()
    without_old = AuditLog(database, "alpha", new_key, clock=clock)
    assert _broken_at(without_old).seq == 2


# --- export and who-read -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_round_trips(log: AuditLog, fmt: Any) -> None:
    log.append(
        [
            AuditEvent(
                actor="ncb@alpha",
                action=AuditAction.MESSAGE_EXPORTED,
                object="msg-1",
                detail={"note": 'a, "quoted"\nline', "name": "Øystein 東京"},
            ),
            _event(2),
        ]
    )
    lines = list(log.export(None, None, fmt))
    assert all(line.endswith("\n") for line in lines)
    parsed = list(read_export(lines, fmt))
    assert parsed == list(log.records())
    assert parsed[0].detail["note"] == 'a, "quoted"\nline'
    # A partner receiving the export can check it against a checkpoint we signed.
    cp = log.checkpoint()
    AuditLog.check_against_partner_checkpoint(read_export("".join(lines), fmt), cp)


def test_export_by_time(log: AuditLog, clock: Clock) -> None:
    log.append([_event(1)])
    clock.advance(3600)
    start = clock.now
    log.append([_event(2), _event(3)])
    clock.advance(3600)
    end = clock.now
    log.append([_event(4)])
    lines = list(log.export(start, end, "jsonl"))
    assert [json.loads(line)["seq"] for line in lines] == [2, 3]
    csv_lines = list(log.export(start, end, "csv"))
    assert csv_lines[0] == "seq,at,actor,action,object,outcome,detail,prev_hash,hash\r\n"
    assert len(csv_lines) == 3


def test_export_rejects_garbage() -> None:
    with pytest.raises(AuditError, match="not JSON"):
        list(read_export(["{nope\n"], "jsonl"))
    with pytest.raises(AuditError, match="header"):
        list(read_export(["a,b\n"], "csv"))
    with pytest.raises(AuditError, match="seq"):
        list(read_export(['{"seq": "1"}\n'], "jsonl"))


def test_who_read(log: AuditLog) -> None:
    log.append(
        [
            AuditEvent("anna@alpha", AuditAction.MESSAGE_READ, "msg-7"),
            AuditEvent("ben@alpha", AuditAction.MESSAGE_EXPORTED, "msg-7"),
            AuditEvent("carl@alpha", AuditAction.MESSAGE_READ, "msg-8"),
        ]
    )
    log.append([AuditEvent("dora@alpha", AuditAction.MESSAGE_READ, "msg-7")])
    assert [r.actor for r in log.who_read("msg-7")] == ["anna@alpha", "dora@alpha"]
    assert [r.actor for r in log.records_for_object("msg-7")] == [
        "anna@alpha",
        "ben@alpha",
        "dora@alpha",
    ]
    assert log.who_read("msg-unknown") == []


# --- cross-anchoring with a partner --------------------------------------------------------


@pytest.fixture
def bravo(
    database_factory: Callable[[str], Database], bravo_key: SigningKey, clock: Clock
) -> AuditLog:
    return AuditLog(database_factory("bravo"), "bravo", bravo_key, clock=clock)


def test_partner_checkpoint_exposes_a_rewritten_history(
    log: AuditLog, bravo: AuditLog, alpha_key: SigningKey
) -> None:
    _fill(log, 20)
    # Evidence from alpha carried its checkpoint; bravo keeps it.
    kept = bravo.store_partner_checkpoint(
        "alpha", log.checkpoint().token, {alpha_key.kid: alpha_key.verify_key()}
    )
    assert kept.seq == 20
    honest = list(read_export(log.export(None, None, "jsonl"), "jsonl"))
    AuditLog.check_against_partner_checkpoint(honest, kept)

    rewrite_history(log, alpha_key, seq=5, actor="nobody@alpha")
    log.verify()  # alpha's own chain and re-signed checkpoints look perfect...

    rewritten = read_export(log.export(None, None, "jsonl"), "jsonl")
    (stored,) = bravo.partner_checkpoints("alpha")
    with pytest.raises(AuditChainBroken, match="rewritten") as caught:
        AuditLog.check_against_partner_checkpoint(rewritten, stored)  # ...but not to bravo.
    assert caught.value.seq == 20


def test_partner_withholding_records_is_caught(
    log: AuditLog, bravo: AuditLog, alpha_key: SigningKey
) -> None:
    _fill(log, 10)
    kept = bravo.store_partner_checkpoint(
        "alpha", log.checkpoint().token, {alpha_key.kid: alpha_key.verify_key()}
    )
    first_eight = [r for r in log.records() if r.seq <= 8]
    with pytest.raises(AuditChainBroken, match="withheld") as caught:
        AuditLog.check_against_partner_checkpoint(first_eight, kept)
    assert caught.value.seq == 9


def test_partner_records_that_do_not_chain_are_named(
    log: AuditLog, bravo: AuditLog, alpha_key: SigningKey
) -> None:
    _fill(log, 10)
    kept = bravo.store_partner_checkpoint(
        "alpha", log.checkpoint().token, {alpha_key.kid: alpha_key.verify_key()}
    )
    records = list(log.records())
    records[3] = replace(records[3], actor="edited")
    with pytest.raises(AuditChainBroken) as caught:
        AuditLog.check_against_partner_checkpoint(records, kept)
    assert caught.value.seq == 4


def test_forged_partner_checkpoint_is_refused(
    bravo: AuditLog, alpha_key: SigningKey, bravo_key: SigningKey
) -> None:
    keys = {alpha_key.kid: alpha_key.verify_key()}
    payload = checkpoint_payload("alpha", 3, "a" * 64, T0)
    impostor = SigningKey(kid=alpha_key.kid, private=bravo_key.private)
    with pytest.raises(AuditError, match="bad_signature"):
        bravo.store_partner_checkpoint(
            "alpha", sign_envelope(payload, impostor, CHECKPOINT_TYP), keys
        )
    with pytest.raises(AuditError, match="unknown_key"):
        bravo.store_partner_checkpoint(
            "alpha", sign_envelope(payload, bravo_key, CHECKPOINT_TYP), keys
        )
    # Evidence or envelopes signed by the partner cannot pass for a checkpoint.
    with pytest.raises(AuditError, match="malformed_envelope"):
        bravo.store_partner_checkpoint("alpha", sign_envelope(payload, alpha_key), keys)
    about_other = checkpoint_payload("charlie", 3, "a" * 64, T0)
    with pytest.raises(AuditError, match="charlie"):
        bravo.store_partner_checkpoint(
            "alpha", sign_envelope(about_other, alpha_key, CHECKPOINT_TYP), keys
        )
    with pytest.raises(AuditError, match="canonical"):
        bravo.store_partner_checkpoint(
            "alpha", sign_envelope(payload + b" ", alpha_key, CHECKPOINT_TYP), keys
        )
    assert bravo.partner_checkpoints("alpha") == []


def test_partner_equivocation_is_caught_and_the_first_proof_kept(
    bravo: AuditLog, alpha_key: SigningKey
) -> None:
    keys = {alpha_key.kid: alpha_key.verify_key()}
    first = sign_envelope(checkpoint_payload("alpha", 3, "a" * 64, T0), alpha_key, CHECKPOINT_TYP)
    other = sign_envelope(checkpoint_payload("alpha", 3, "b" * 64, T0), alpha_key, CHECKPOINT_TYP)
    kept = bravo.store_partner_checkpoint("alpha", first, keys)
    assert bravo.store_partner_checkpoint("alpha", first, keys) == kept  # idempotent
    with pytest.raises(AuditChainBroken, match="two different heads") as caught:
        bravo.store_partner_checkpoint("alpha", other, keys)
    assert caught.value.seq == 3
    assert bravo.partner_checkpoints("alpha") == [Checkpoint("alpha", 3, "a" * 64, T0, first)]


# --- properties ----------------------------------------------------------------------------

_characters = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
_text = st.text(_characters, min_size=1, max_size=20)
_events = st.builds(
    AuditEvent,
    actor=_text,
    action=st.sampled_from(list(AuditAction)),
    object=_text,
    outcome=st.sampled_from(["ok", "denied", "failed"]),
    detail=st.one_of(
        st.none(),
        st.dictionaries(st.text(_characters, max_size=8), st.text(_characters, max_size=20)),
    ),
)
_batches = st.lists(st.lists(_events, min_size=1, max_size=6), min_size=1, max_size=4)


def _flip_hex(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


def _mutations(row: store.RecordRow) -> Iterator[tuple[str, Any]]:
    yield "actor", row.actor + "x"
    yield "action", row.action + "x"
    yield "object", "x" + row.object
    yield "outcome", row.outcome + "x"
    yield "at", row.at + timedelta(microseconds=1)
    yield "detail_json", encode_detail({**decode_detail(row.detail_json), "\x7fextra": ""})
    yield "prev_hash", _flip_hex(row.prev_hash)
    yield "hash", _flip_hex(row.hash)


_MUTATED_FIELDS = [
    name
    for name, _ in _mutations(store.RecordRow(1, T0, "a", "b", "c", "d", "{}", "0" * 64, "0" * 64))
]


def test_any_sequence_of_events_verifies(log: AuditLog) -> None:
    @settings(max_examples=50, deadline=None)
    @given(_batches)
    def appended_then_verified(batches: list[list[AuditEvent]]) -> None:
        for batch in batches:
            log.append(batch)
        log.verify()

    appended_then_verified()


def test_any_single_record_mutation_is_named(log: AuditLog, database: Database) -> None:
    @settings(max_examples=50, deadline=None)
    @given(_batches, st.data())
    def mutated_then_named(batches: list[list[AuditEvent]], data: st.DataObject) -> None:
        # The chain grows across examples; draw only from this example's own records, so
        # what hypothesis draws does not depend on earlier examples.
        with database.read() as conn:
            head = store.head(conn, for_update=False)
        first = (head.seq if head else 0) + 1
        for batch in batches:
            log.append(batch)
        count = sum(len(batch) for batch in batches)
        index = data.draw(st.integers(0, count - 1), label="record")
        target = next(store.iter_records(database, from_seq=first + index))
        field = data.draw(st.sampled_from(_MUTATED_FIELDS), label="field")
        value = dict(_mutations(target))[field]
        _set(database, target.seq, **{field: value})
        try:
            with pytest.raises(AuditChainBroken) as caught:
                log.verify()
            assert caught.value.seq == target.seq, caught.value.reason
        finally:
            _set(database, target.seq, **{field: getattr(target, field)})
        log.verify()

    mutated_then_named()


def test_records_survive_the_export_property(log: AuditLog) -> None:
    @settings(max_examples=25, deadline=None)
    @given(st.lists(_events, min_size=1, max_size=5))
    def round_trip(events: list[AuditEvent]) -> None:
        log.append(events)
        for fmt in ("jsonl", "csv"):
            parsed = list(read_export(log.export(None, None, fmt), fmt))  # type: ignore[arg-type]
            assert parsed == list(log.records())

    round_trip()


def test_audit_record_dict_round_trip() -> None:
    record = AuditRecord(
        seq=1,
        at=T0,
        actor="a",
        action="message.read",
        object="m",
        outcome="ok",
        detail={"k": "v"},
        prev_hash=GENESIS_HASH,
        hash="0" * 64,
    )
    assert AuditRecord.from_dict(record.to_dict()) == record
