"""What a sender's batch leaves behind: a delivery never moves back, and never stays on the wire.

1. Evidence that overtakes the answer it follows must not be undone by that answer.
   ncb-madrid sends a batch to interpol, which relays it to europol. Before madrid has read
   interpol's answer (``relayed``), europol's ``delivered`` evidence has already come back to
   madrid through interpol, in a transaction interpol pushed. This is what happens when a relay
   restarts: madrid sends the batch again, and interpol forwards and reports back faster than
   the repeated batch is answered. The late ``relayed`` (or a lost answer, which postpones the
   batch) must not move the delivery back.
2. A batch whose push fails in a way the sender did not foresee goes back to the queue at
   once, instead of staying ``sent`` until the next restart.

The nodes, stores, inboxes and senders are real; the test stands in for the network only, so
that things happen in exactly this order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from secureline.node.compose import Node
from secureline.services.line.directory import Peer
from secureline.services.line.outbox import LinkSender
from secureline.services.line.transport import LineTransport, PushAnswer, TransportError
from secureline.store.audit import audit_records
from secureline.store.tables import deliveries
from tests.integration.support import CHAIN, Federation, delivery_state, officer, sample


class Direct:
    """Hands a transaction to the peer's real inbox, as the line's server would."""

    def __init__(self, receiver: Node, sender: str) -> None:
        self.receiver = receiver
        self.sender = sender

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        answer = self.receiver.inbox.receive(self.sender, txn_id, body, agreement_digest)
        return PushAnswer(200, answer, None, agreement_digest)

    def close(self) -> None:
        pass


def sender(node: Node, peer: str, transport: LineTransport) -> LinkSender:
    return LinkSender(
        node.name,
        peer,
        node.db,
        node.directory,
        transport,
        node.audit,
        node.settings,
        lambda: datetime.now(UTC),
    )


class RelayAnsweringLate:
    """interpol takes madrid's batch, then forwards it to europol and pushes europol's
    evidence back to madrid, all before its own answer reaches madrid; ``then`` says what
    happens to that answer."""

    def __init__(self, madrid: Node, interpol: Node, europol: Node, then: str) -> None:
        self.inbox = Direct(interpol, "ncb-madrid")
        self.onward = sender(interpol, "europol", Direct(europol, "interpol"))
        self.back = sender(interpol, "ncb-madrid", Direct(madrid, "interpol"))
        self.then = then

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        answer = self.inbox.push(peer, txn_id, body, agreement_digest)
        assert self.onward.send_once()  # europol delivers; its evidence waits for madrid
        assert self.back.send_once()  # ... and reaches madrid
        if self.then == "lost":
            raise TransportError("the answer was lost on the way")
        return answer

    def close(self) -> None:
        pass


class Broken:
    """A transport with a fault the sender cannot know of."""

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        raise RuntimeError("an unforeseen fault")

    def close(self) -> None:
        pass


@pytest.fixture
def chain(federation_factory: Callable[..., Federation]) -> tuple[Node, Node, Node]:
    fed = federation_factory(CHAIN, start=())
    return fed.construct("ncb-madrid"), fed.construct("interpol"), fed.construct("europol")


def _sent_records(node: Node, message_id: str) -> int:
    with node.db.read() as conn:
        rows = conn.execute(
            select(audit_records.c.action).where(audit_records.c.object == message_id)
        ).scalars()
        return sum(1 for action in rows if action == "message.sent")


@pytest.mark.parametrize("then", ["answered", "lost"])
def test_a_late_answer_does_not_move_a_delivery_back(
    chain: tuple[Node, Node, Node], then: str
) -> None:
    madrid, interpol, europol = chain
    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", seed=31))
    link = sender(madrid, "interpol", RelayAnsweringLate(madrid, interpol, europol, then))

    link.send_once()

    assert delivery_state(madrid, sent.id, "europol") == "delivered"
    assert _sent_records(madrid, sent.id) == 1
    assert not link.send_once()  # nothing left to send: the delivery is not queued again


def test_a_batch_that_fails_unexpectedly_is_queued_again(
    chain: tuple[Node, Node, Node],
) -> None:
    madrid, _, _ = chain
    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", seed=32))
    link = sender(madrid, "interpol", Broken())

    with pytest.raises(RuntimeError, match="unforeseen"):
        link.send_once()

    assert delivery_state(madrid, sent.id, "europol") == "queued"
    with madrid.db.read() as conn:
        attempts = conn.execute(
            select(deliveries.c.attempts).where(deliveries.c.message_id == sent.id)
        ).scalar_one()
    assert attempts == 1
