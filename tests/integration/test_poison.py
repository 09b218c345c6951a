"""Poison isolated at the sender (issue 21 item 3).

A peer that fails one envelope with a 500 for the whole transaction, every time: the sender
splits the failing transaction, halves then halves again, sets the envelope that fails alone
aside as ``failed`` with the peer's answer (peer list, link health, ``secureline status``,
an alarm), and delivers everything else; an administrator retries or drops it, audited.
The same at a relay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.node.compose import Node
from secureline.node.errors import NodeError
from secureline.services.line.wire import open_envelope
from secureline.store.audit import audit_records
from secureline.store.tables import deliveries
from tests.integration.support import (
    CHAIN,
    PAIR,
    Federation,
    delivery_state,
    log_in,
    officer,
    sample,
    set_option,
    wait_for,
)

BACKLOG = 30


def _poison(receiver: Node, poisoned: set[str]) -> Callable[[], None]:
    """The receiver's inbox fails any transaction carrying one of ``poisoned`` as a whole
    (an unforeseen exception: the line server answers 500 internal_error); returns the cure."""
    real = receiver.inbox.receive

    def receive(peer: str, txn_id: str, body: bytes, digest: str | None) -> bytes:
        for item in orjson.loads(body)["envelopes"]:
            opened = open_envelope(item["token"], receiver.directory.verify_keys)
            if opened.header_json["id"] in poisoned:
                raise RuntimeError("an envelope this inbox cannot take")
        return real(peer, txn_id, body, digest)

    receiver.inbox.receive = receive  # type: ignore[method-assign]

    def cure() -> None:
        receiver.inbox.receive = real  # type: ignore[method-assign]

    return cure


def _fast_retries(fed: Federation, name: str) -> None:
    set_option(fed.dirs[name], "line", "retry_initial_seconds", "0.02")
    set_option(fed.dirs[name], "line", "retry_max_seconds", "0.2")


def _held_state(node: Node, message_id: str, destination: str = "europol") -> str | None:
    """A delivery's state at any node (a relay's deliveries have no status of their own)."""
    with node.db.read() as conn:
        return conn.execute(
            select(deliveries.c.state).where(
                deliveries.c.message_id == message_id, deliveries.c.destination == destination
            )
        ).scalar_one_or_none()


def _health(node: Node, peer: str) -> dict[str, Any]:
    return {h["peer"]: h for h in node.peering.link_health()}[peer]


def _states(node: Node, ids: list[str], destination: str = "europol") -> dict[str, str | None]:
    return {i: delivery_state(node, i, destination) for i in ids}


def test_a_poisoned_envelope_is_set_aside_and_the_backlog_flows(
    federation_factory: Callable[..., Federation], monkeypatch: pytest.MonkeyPatch
) -> None:
    fed = federation_factory(PAIR, start=())
    _fast_retries(fed, "interpol")
    interpol = fed.start("interpol")
    europol = fed.construct("europol")  # not listening yet: the backlog builds up
    ids = [
        s.id
        for s in interpol.messaging.submit_many(
            officer(interpol), [sample("ops@europol", seed=900 + i) for i in range(BACKLOG)]
        )
    ]
    retried, dropped = ids[7], ids[20]
    cure = _poison(europol, {retried, dropped})
    fed.start("europol")

    healthy = [i for i in ids if i not in (retried, dropped)]
    wait_for(
        lambda: (
            set(_states(interpol, healthy).values()) == {"delivered"}
            and _states(interpol, [retried, dropped]) == {retried: "failed", dropped: "failed"}
        ),
        timeout=60,
        what=lambda: f"the backlog delivered, the poison set aside: {_states(interpol, ids)}",
    )
    health = _health(interpol, "europol")
    assert health["failed"] == 2
    assert health["queue_depth"] == 0
    aside = {f["message_id"]: f for f in health["failed_envelopes"]}
    assert set(aside) == {retried, dropped}
    assert aside[retried]["code"] == "internal_error"
    assert "500" in aside[retried]["answer"]
    assert any("set aside as failed" in a for a in health["alarms"])

    runner = CliRunner()
    directory = str(fed.dirs["interpol"])
    # the commands act on the running node's store (a second Node per command would leave
    # its connection pool open)
    monkeypatch.setattr(common, "node_at", lambda _: interpol)
    log_in(interpol, directory)  # status is an officer's: of the sending unit (cc)
    shown = runner.invoke(app, ["status", retried, "--dir", directory])
    assert shown.exit_code == 0, shown.output
    assert "europol: failed" in shown.output
    assert "alarm" in shown.output
    listed = runner.invoke(app, ["peer", "list", "--dir", directory, "--json"])
    assert orjson.loads(listed.output)[0]["failed"] == 2, listed.output

    cure()
    done = runner.invoke(app, ["peer", "retry", retried, "--dir", directory])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["peer", "drop", dropped, "--dir", directory])
    assert done.exit_code == 0, done.output
    wait_for(
        lambda: delivery_state(interpol, retried, "europol") == "delivered",
        what="the retried envelope delivered",
    )
    assert delivery_state(interpol, dropped, "europol") == "dropped"
    assert _health(interpol, "europol")["failed"] == 0
    with interpol.db.read() as conn:
        decisions = {
            (r.object, r.outcome)
            for r in conn.execute(
                select(audit_records.c.object, audit_records.c.outcome).where(
                    audit_records.c.outcome.in_(("failed_retried", "failed_dropped"))
                )
            )
        }
    assert decisions == {(retried, "failed_retried"), (dropped, "failed_dropped")}

    again = runner.invoke(app, ["peer", "retry", dropped, "--dir", directory])
    assert again.exit_code != 0  # nothing set aside any more (main() prints it as one line)
    assert isinstance(again.exception, NodeError)
    assert "no envelope set aside" in str(again.exception)


def test_a_relay_isolates_the_poison_and_relays_the_rest(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(CHAIN, start=())
    _fast_retries(fed, "interpol")
    madrid, interpol = fed.start("ncb-madrid"), fed.start("interpol")
    europol = fed.construct("europol")
    ids = [
        s.id
        for s in madrid.messaging.submit_many(
            officer(madrid), [sample("ops@europol", seed=950 + i) for i in range(12)]
        )
    ]
    poison = ids[5]
    _poison(europol, {poison})
    fed.start("europol")

    healthy = [i for i in ids if i != poison]
    wait_for(
        lambda: (
            set(_states(madrid, healthy).values()) == {"delivered"}
            and _held_state(interpol, poison) == "failed"
        ),
        timeout=60,
        what=lambda: f"relayed, the poison set aside at the relay: {_states(madrid, ids)}",
    )
    assert _health(interpol, "europol")["failed"] == 1
    assert delivery_state(madrid, poison, "europol") == "relayed"
