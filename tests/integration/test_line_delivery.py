"""Delivery over the line between real nodes on loopback (issues #3 and #6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from secureline.cli.peer_commands import link_summary
from secureline.store import tables
from tests.integration.support import (
    PAIR,
    Federation,
    count_rows,
    delivery_state,
    evidence_kinds,
    message_row,
    officer,
    sample,
    wait_for,
    wait_state,
)


def _inbox_ids(fed: Federation, name: str) -> list[str]:
    node = fed[name]
    return [header.id for _, header in node.messaging.inbox(officer(node), 0, 500)]


@pytest.mark.parametrize(
    ("origin", "destination"), [("interpol", "europol"), ("europol", "interpol")]
)
def test_delivery_with_evidence(pair: Federation, origin: str, destination: str) -> None:
    sender, receiver = pair[origin], pair[destination]
    to_unit = officer(receiver).unit
    message = sample(f"{to_unit}@{destination}", "maritime-piracy", seed=len(origin))
    sent = sender.messaging.submit(officer(sender), message)

    assert wait_state(sender, sent.id, destination, ["delivered"]) == "delivered"
    assert ("delivered", destination) in evidence_kinds(sender, sent.id)
    assert _inbox_ids(pair, destination) == [sent.id]
    opened = receiver.messaging.open(officer(receiver), sent.id)
    assert opened.content is not None
    assert opened.header.sender.node == origin
    assert [e["id"] for e in opened.content["entities"]] == [e["id"] for e in message["entities"]]
    assert [e["schema"] for e in opened.content["entities"]] == [
        e["schema"] for e in message["entities"]
    ]
    assert opened.content["body"] == message["body"]


def test_read_acknowledgement_returns_to_origin(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", "major-events"))
    wait_state(interpol, sent.id, "europol", ["delivered"])

    first = europol.messaging.open(officer(europol), sent.id)
    again = europol.messaging.open(officer(europol), sent.id)

    assert first.first_read
    assert not again.first_read
    assert wait_state(interpol, sent.id, "europol", ["read"]) == "read"
    assert ("read", "europol") in evidence_kinds(interpol, sent.id)


def test_every_read_acknowledgement_returns(pair: Federation) -> None:
    """Two read acknowledgements in a row on the same link, each in its own transaction."""
    interpol, europol = pair["interpol"], pair["europol"]
    first, second = interpol.messaging.submit_many(
        officer(interpol), [sample("ops@europol", seed=1), sample("ops@europol", seed=2)]
    )
    wait_state(interpol, first.id, "europol", ["delivered"])
    wait_state(interpol, second.id, "europol", ["delivered"])

    europol.messaging.open(officer(europol), first.id)
    wait_state(interpol, first.id, "europol", ["read"])
    europol.messaging.open(officer(europol), second.id)

    assert wait_state(interpol, second.id, "europol", ["read"], timeout=10) == "read"


def test_receiver_down_queues_then_delivers_when_it_starts(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=("interpol",))
    fed.construct("europol")  # exists, but does not listen yet
    interpol = fed["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", "counter-terrorism"))

    def queued() -> bool:
        health = {h["peer"]: h for h in interpol.peering.link_health()}["europol"]
        return (
            health["queue_depth"] >= 1
            and health["last_error"] is not None
            and delivery_state(interpol, sent.id, "europol") == "queued"
        )

    wait_for(queued, what="the message queued after a failed attempt")
    assert count_rows(fed["europol"], tables.messages) == 0

    fed.start("europol")

    assert wait_state(interpol, sent.id, "europol", ["delivered"]) == "delivered"
    assert _inbox_ids(fed, "europol") == [sent.id]
    wait_for(
        lambda: (
            {h["peer"]: h for h in interpol.peering.link_health()}["europol"]["queue_depth"] == 0
        ),
        what="an empty queue",
    )


def test_receiver_restarted_catches_up_exactly_once(pair: Federation) -> None:
    interpol = pair["interpol"]
    pair.stop("europol")
    ids = [
        s.id
        for s in interpol.messaging.submit_many(
            officer(interpol), [sample("ops@europol", seed=i) for i in range(5)]
        )
    ]
    wait_for(
        lambda: (
            all(delivery_state(interpol, i, "europol") == "queued" for i in ids)
            and {h["peer"]: h for h in interpol.peering.link_health()}["europol"]["last_error"]
        ),
        what="the messages queued while europol is down",
    )

    pair.start("europol")  # a new Node from the same directory: a restart

    for i in ids:
        wait_state(interpol, i, "europol", ["delivered"])
    assert sorted(_inbox_ids(pair, "europol")) == sorted(ids)


def test_relay_over_three_nodes(chain: Federation) -> None:
    madrid, interpol = chain["ncb-madrid"], chain["interpol"]
    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", "cyber-crime"))

    assert wait_state(madrid, sent.id, "europol", ["delivered"]) == "delivered"
    kinds = evidence_kinds(madrid, sent.id)
    assert ("relayed", "interpol") in kinds
    assert ("delivered", "europol") in kinds
    assert _inbox_ids(chain, "europol") == [sent.id]
    relay_row = message_row(interpol, sent.id)
    assert relay_row is not None
    assert relay_row.direction == "relay"
    assert count_rows(interpol, tables.mailbox) == 0  # a relay delivers nothing to its units


def test_read_acknowledgement_travels_back_over_two_links(chain: Federation) -> None:
    madrid, europol = chain["ncb-madrid"], chain["europol"]
    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", "cyber-crime"))
    wait_state(madrid, sent.id, "europol", ["delivered"])

    europol.messaging.open(officer(europol), sent.id)

    assert wait_state(madrid, sent.id, "europol", ["read"]) == "read"
    assert ("read", "europol") in evidence_kinds(madrid, sent.id)


def test_confidential_message_relay_holds_only_ciphertext(chain: Federation) -> None:
    madrid, interpol, europol = chain["ncb-madrid"], chain["interpol"], chain["europol"]
    message = sample("ops@europol", "counter-terrorism", confidential=True, handling="H1")
    sent = madrid.messaging.submit(officer(madrid), message)

    wait_state(madrid, sent.id, "europol", ["delivered"])

    at_relay = message_row(interpol, sent.id)
    assert at_relay is not None
    assert at_relay.content_json is None
    assert at_relay.content_jwe
    assert message["body"] not in at_relay.content_jwe
    assert message["body"] not in (at_relay.envelope or "")
    with interpol.db.read() as conn:
        relay_envelope = conn.execute(
            select(tables.envelopes.c.envelope).where(tables.envelopes.c.message_id == sent.id)
        ).scalar_one()
    assert message["body"] not in relay_envelope

    at_destination = message_row(europol, sent.id)
    assert at_destination is not None
    assert at_destination.content_json is not None
    opened = europol.messaging.open(officer(europol), sent.id)
    assert opened.content is not None
    assert opened.content["body"] == message["body"]
    assert [e["id"] for e in opened.content["entities"]] == [e["id"] for e in message["entities"]]


def test_relay_down_catches_up_nothing_lost_nothing_twice(chain: Federation) -> None:
    madrid = chain["ncb-madrid"]
    chain.stop("interpol")
    drafts = [sample("ops@europol", seed=100 + i) for i in range(5)]
    ids = [s.id for s in madrid.messaging.submit_many(officer(madrid), drafts)]
    wait_for(
        lambda: (
            {h["peer"]: h for h in madrid.peering.link_health()}["interpol"]["queue_depth"] >= 1
        ),
        what="the messages queued while the relay is down",
    )

    chain.start("interpol")

    for i in ids:
        wait_state(madrid, i, "europol", ["delivered"])
    assert sorted(_inbox_ids(chain, "europol")) == sorted(ids)


def test_exactly_once_for_a_burst_of_50(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    drafts = [sample("ops@europol", seed=1000 + i) for i in range(50)]
    ids = []
    for start in range(0, 50, 10):  # several submissions, so several batches cross the line
        ids += [
            s.id
            for s in interpol.messaging.submit_many(officer(interpol), drafts[start : start + 10])
        ]
    assert len(set(ids)) == 50

    wait_for(
        lambda: all(delivery_state(interpol, i, "europol") == "delivered" for i in ids),
        timeout=30,
        what="50 deliveries",
    )

    assert count_rows(europol, tables.mailbox) == 50
    assert count_rows(europol, tables.messages, tables.messages.c.direction == "in") == 50
    with europol.db.read() as conn:
        per_message = dict(
            conn.execute(
                select(tables.mailbox.c.message_id, func.count()).group_by(
                    tables.mailbox.c.message_id
                )
            ).all()
        )
    assert per_message == dict.fromkeys(ids, 1)
    assert sorted(_inbox_ids(pair, "europol")) == sorted(ids)


def test_stop_is_prompt_while_a_peer_is_connected(pair: Federation) -> None:
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol"))
    wait_state(interpol, sent.id, "europol", ["delivered"])  # interpol's client stays connected

    started = time.monotonic()
    pair.stop("europol")

    assert time.monotonic() - started < 5


def test_a_node_behind_a_relay_shows_the_route_and_its_last_evidence(chain: Federation) -> None:
    madrid = chain["ncb-madrid"]

    def europol() -> dict[str, Any]:
        return {h["peer"]: h for h in madrid.peering.link_health()}["europol"]

    before = europol()
    assert (before["direct"], before["route"], before["last_evidence"]) == (
        False,
        "interpol",
        None,
    )
    assert link_summary(before) == "no evidence yet"

    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", seed=7))
    wait_state(madrid, sent.id, "europol", ["delivered"])

    after = europol()["last_evidence"]
    assert after is not None
    assert after["kind"] == "delivered"
    assert link_summary(europol()) == f"last evidence delivered at {after['at']}"
    # the relay's own evidence counts for the relay, not for the node behind it
    assert {h["peer"]: h for h in madrid.peering.link_health()}["interpol"]["last_evidence"][
        "kind"
    ] == "relayed"
