"""A node killed with SIGKILL in the middle of a stream, then restarted (issue #3).

The killed node runs as its own OS process (``secureline run``), so the kill is real: no
``finally``, no flush, no clean-up; the store holds whatever was committed. The other node
runs in the test process. Every message must then be delivered exactly once, and the sender
must hold delivered evidence for each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select

from secureline.node.compose import Node
from secureline.store import tables
from secureline.store.database import Database
from tests.integration.support import (
    CHAIN,
    PAIR,
    Federation,
    NodeProcess,
    officer,
    open_store,
    sample,
    set_option,
    wait_for,
)

pytestmark = pytest.mark.slow

MESSAGES = 2000
BATCH = 100  # the sender's max_batch_messages: 20 transactions, so there is a "middle"


def _counts(db: Database, table: Table, column: str) -> dict[str, int]:
    """``column`` value -> number of rows (e.g. mailbox rows per message id)."""
    col = table.c[column]
    with db.read() as conn:
        return {str(k): int(n) for k, n in conn.execute(select(col, func.count()).group_by(col))}


def _mailbox_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.mailbox)).scalar_one())


def _states(db: Database) -> dict[str, int]:
    return _counts(db, tables.deliveries, "state")


def _submit_offline(directory: Path, count: int) -> list[str]:
    """Queue ``count`` messages to ops@europol in a node's store without starting it."""
    node = Node(directory)
    try:
        drafts = [sample("ops@europol", seed=10_000 + i) for i in range(count)]
        ids = [s.id for s in node.messaging.submit_many(officer(node), drafts)]
    finally:
        node.transport.close()
        node.db.dispose()
    assert len(set(ids)) == count
    return ids


def _sent_ids(sender: Database) -> list[str]:
    """Messages on the wire: marked sent, their answer not yet taken."""
    with sender.read() as conn:
        return list(
            conn.execute(
                select(tables.deliveries.c.message_id).where(tables.deliveries.c.state == "sent")
            ).scalars()
        )


def _received_of(receiver: Database, ids: Sequence[str]) -> int:
    if not ids:
        return 0
    with receiver.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(tables.mailbox)
                .where(tables.mailbox.c.message_id.in_(ids))
            ).scalar_one()
        )


def _kill_twice(process: NodeProcess, sender: Database, receiver: Database) -> list[str]:
    """SIGKILL the running ``process`` twice and start it again each time:

    1. when the receiver has committed a batch whose answer the sender has not taken yet (its
       rows are still ``sent``): the window where a naive design delivers twice;
    2. when a later batch is on the wire, mid-stream.

    Returns what the receiver held at each kill, for the report."""
    seen: list[str] = []

    def committed_not_acknowledged() -> bool:
        return _received_of(receiver, _sent_ids(sender)) > 0

    def later_batch_on_the_wire() -> bool:
        return int(seen[-1].split()[0]) < _mailbox_count(receiver) < MESSAGES and bool(
            _sent_ids(sender)
        )

    for window in (committed_not_acknowledged, later_batch_on_the_wire):
        wait_for(window, timeout=60, interval=0.002, what=window.__name__)
        process.kill()
        seen.append(f"{_mailbox_count(receiver)} received at '{window.__name__}'")
        process.start()
    return seen


def _assert_exactly_once(receiver: Database, sender: Database, ids: Sequence[str]) -> None:
    per_message = _counts(receiver, tables.mailbox, "message_id")
    assert len(per_message) == len(ids)
    assert per_message == dict.fromkeys(ids, 1)
    with receiver.read() as conn:
        stored = conn.execute(
            select(tables.messages.c.id).where(tables.messages.c.direction == "in")
        ).scalars()
        assert sorted(stored) == sorted(ids)
    assert _states(sender) == {"delivered": len(ids)}


def test_sender_killed_mid_batch_and_restarted_delivers_each_message_once(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=("europol",))
    europol = fed["europol"]
    set_option(fed.dirs["interpol"], "line", "max_batch_messages", str(BATCH))
    ids = _submit_offline(fed.dirs["interpol"], MESSAGES)
    sender_store = open_store(fed.dirs["interpol"])
    interpol = NodeProcess(fed.dirs["interpol"])
    try:
        started = time.monotonic()
        interpol.start()
        kills = _kill_twice(interpol, sender_store, europol.db)
        wait_for(
            lambda: _states(sender_store) == {"delivered": MESSAGES},
            timeout=90,
            interval=0.2,
            what=lambda: (
                f"{MESSAGES} delivered; interpol's deliveries {_states(sender_store)}; "
                f"interpol's log:\n{interpol.output()}"
            ),
        )
        elapsed = time.monotonic() - started
        interpol.stop()

        _assert_exactly_once(europol.db, sender_store, ids)
        print(f"killed with {kills} of {MESSAGES}; all delivered after {elapsed:.1f} s")
    finally:
        interpol.stop()
        sender_store.dispose()


def test_receiver_killed_mid_stream_and_restarted_delivers_each_message_once(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    set_option(fed.dirs["interpol"], "line", "max_batch_messages", str(BATCH))
    # a short backoff: the sender must find the restarted receiver again within the test
    set_option(fed.dirs["interpol"], "line", "retry_max_seconds", "2.0")
    ids = _submit_offline(fed.dirs["interpol"], MESSAGES)
    receiver_store = open_store(fed.dirs["europol"])
    europol = NodeProcess(fed.dirs["europol"])
    try:
        europol.start()  # listening before interpol's sender begins
        started = time.monotonic()
        interpol = fed.start("interpol")
        kills = _kill_twice(europol, interpol.db, receiver_store)
        wait_for(
            lambda: _states(interpol.db) == {"delivered": MESSAGES},
            timeout=90,
            interval=0.2,
            what=lambda: (
                f"{MESSAGES} delivered; interpol's deliveries {_states(interpol.db)}; "
                f"europol's log:\n{europol.output()}"
            ),
        )
        elapsed = time.monotonic() - started

        _assert_exactly_once(receiver_store, interpol.db, ids)
        print(f"killed with {kills} of {MESSAGES}; all delivered after {elapsed:.1f} s")
    finally:
        # interpol's sender first, so that europol's stop finds no peer connection
        if "interpol" in fed.nodes:
            fed.stop("interpol")
        europol.stop()
        receiver_store.dispose()


def test_relay_killed_mid_stream_and_restarted_delivers_each_message_once(
    federation_factory: Callable[..., Federation],
) -> None:
    """ncb-madrid — interpol — europol, with interpol (the relay) killed twice: once when it
    has taken custody of a batch that madrid has not heard about yet, once while it forwards
    a batch to europol."""
    fed = federation_factory(CHAIN, start=())
    for name in ("ncb-madrid", "interpol"):
        set_option(fed.dirs[name], "line", "max_batch_messages", str(BATCH))
    set_option(fed.dirs["ncb-madrid"], "line", "retry_max_seconds", "2.0")
    set_option(fed.dirs["interpol"], "line", "retry_max_seconds", "2.0")
    node = Node(fed.dirs["ncb-madrid"])
    try:
        drafts = [sample("ops@europol", seed=20_000 + i) for i in range(MESSAGES)]
        ids = [s.id for s in node.messaging.submit_many(officer(node), drafts)]
    finally:
        node.transport.close()
        node.db.dispose()
    relay_store = open_store(fed.dirs["interpol"])
    interpol = NodeProcess(fed.dirs["interpol"])
    try:
        europol = fed.start("europol")
        interpol.start()
        started = time.monotonic()
        madrid = fed.start("ncb-madrid")
        seen: list[str] = []

        def relay_holds_what_madrid_still_has_as_sent() -> bool:
            on_wire = _sent_ids(madrid.db)
            if not on_wire:
                return False
            with relay_store.read() as conn:
                return bool(
                    conn.execute(
                        select(func.count())
                        .select_from(tables.messages)
                        .where(tables.messages.c.id.in_(on_wire))
                    ).scalar_one()
                )

        def relay_forwarding_mid_stream() -> bool:
            return 0 < _mailbox_count(europol.db) < MESSAGES and bool(_sent_ids(relay_store))

        for window in (relay_holds_what_madrid_still_has_as_sent, relay_forwarding_mid_stream):
            wait_for(window, timeout=60, interval=0.002, what=window.__name__)
            interpol.kill()
            seen.append(f"{_mailbox_count(europol.db)} received at '{window.__name__}'")
            interpol.start()
        wait_for(
            lambda: _states(madrid.db) == {"delivered": MESSAGES},
            timeout=90,
            interval=0.2,
            what=lambda: (
                f"{MESSAGES} delivered; ncb-madrid's deliveries {_states(madrid.db)}, "
                f"interpol's {_states(relay_store)}, europol's mailbox "
                f"{_mailbox_count(europol.db)}; interpol's log:\n{interpol.output()}"
            ),
        )
        elapsed = time.monotonic() - started

        _assert_exactly_once(europol.db, madrid.db, ids)
        relayed = _counts(relay_store, tables.deliveries, "message_id")
        assert relayed == dict.fromkeys(ids, 1)  # one relay row per message, none twice
        print(f"killed the relay with {seen} of {MESSAGES}; delivered after {elapsed:.1f} s")
    finally:
        if "ncb-madrid" in fed.nodes:
            fed.stop("ncb-madrid")
        interpol.stop()
        relay_store.dispose()
