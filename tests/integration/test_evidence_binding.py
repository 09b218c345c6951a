"""Evidence proves that the bytes the origin sent arrived, not just that a message id did.

The destination is a real node store and inbox; between the two nodes stands a transport that
hands the origin's batch to the destination's inbox and, first, answers with evidence the
destination signed about other bytes (what a faulty or compromised peer could sign).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select

from secureline.cli.samples import draft
from secureline.node.compose import Node
from secureline.services.line.directory import Peer
from secureline.services.line.outbox import LinkSender
from secureline.services.line.transport import PushAnswer
from secureline.services.line.wire import (
    EvidenceItem,
    EvidenceKind,
    claimed_identity,
    sign_evidence,
)
from secureline.services.roles import Principal, Role
from secureline.store.tables import deliveries
from tests.integration.support import PAIR, Federation

OTHER_BYTES = "0" * 64


class PeerSigningOtherBytes:
    """Delivers for real; the first answer's evidence names envelopes we did not send."""

    def __init__(self, destination: Node, kind: EvidenceKind) -> None:
        self.destination = destination
        self.kind = kind
        self.pushes = 0

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        self.pushes += 1
        answer = self.destination.inbox.receive("interpol", txn_id, body, agreement_digest)
        if self.pushes == 1:
            sent = [claimed_identity(e["token"]) for e in orjson.loads(body)["envelopes"]]
            items = [
                EvidenceItem(m, origin, "europol", self.kind, OTHER_BYTES)
                for m, origin in filter(None, sent)
            ]
            forged = sign_evidence(
                "ev-names-other-bytes",
                "europol",
                datetime.now(UTC),
                items,
                None,
                self.destination.identity.signing,
            )
            answer = orjson.dumps({"v": 1, "txn_id": txn_id, "evidence": [forged]})
        return PushAnswer(200, answer, None, agreement_digest)

    def close(self) -> None:
        pass


@pytest.fixture
def pair(federation_factory: Callable[..., Federation]) -> tuple[Node, Node]:
    """interpol and europol constructed but not started: the test stands between them."""
    fed = federation_factory(PAIR, start=())
    return fed.construct("interpol"), fed.construct("europol")


def _state(node: Node, message_id: str) -> str:
    with node.db.read() as conn:
        return str(
            conn.execute(
                select(deliveries.c.state).where(deliveries.c.message_id == message_id)
            ).scalar_one()
        )


@pytest.mark.parametrize("kind", [EvidenceKind.DELIVERED, EvidenceKind.RELAYED])
def test_evidence_naming_other_bytes_is_not_taken_and_the_envelope_goes_again(
    pair: tuple[Node, Node], kind: EvidenceKind
) -> None:
    origin, destination = pair
    system = Principal("national-system", "national-system", "cc", Role.SYSTEM)
    sent = origin.messaging.submit(
        system, draft(random.Random(7), "ops@europol", "cyber-crime", "binding")
    )
    peer = PeerSigningOtherBytes(destination, kind)
    sender = LinkSender(
        "interpol",
        "europol",
        origin.db,
        origin.directory,
        peer,
        origin.audit,
        origin.settings,
        lambda: datetime.now(UTC),
    )
    assert sender.send_once()
    assert _state(origin, sent.id) == "queued"  # not taken as proof; postponed to go again
    with origin.db.transaction() as conn:  # due now rather than after the backoff
        conn.execute(deliveries.update().values(not_before=datetime(2000, 1, 1, tzinfo=UTC)))
    assert sender.send_once()
    assert peer.pushes == 2
    assert _state(origin, sent.id) == "delivered"  # the duplicate's evidence names our bytes
