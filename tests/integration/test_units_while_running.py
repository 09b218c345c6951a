"""A unit added while a node runs receives its messages at once (no restart): the inbox reads
the units again before refusing one as unknown, so another process (the CLI, a second worker)
may add it."""

from __future__ import annotations

from secureline.node.compose import Node
from secureline.services.line.outbox import _answer_text
from tests.integration.support import Federation, officer, sample, wait_state


def test_a_unit_added_by_another_process_receives_at_once(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    other = Node(pair.dirs["europol"])  # as `secureline unit add` would, beside the running node
    try:
        other.accounts.add_unit("test", "maritime-desk", description="added while running")
    finally:
        other.db.dispose()
    sent = interpol.messaging.submit(officer(interpol), sample("maritime-desk@europol", seed=71))
    assert wait_state(interpol, sent.id, "europol", ["delivered", "refused"]) == "delivered"
    inbox = europol.messaging.inbox(officer(europol, unit="maritime-desk"), 0, 10)
    assert [h.id for _, h in inbox] == [sent.id]


def test_a_peers_error_answer_is_kept_as_text() -> None:
    body = b'{"error": {"code": "internal_error", "message": "the store is down\\u0000"}}'
    assert _answer_text(body) == "the store is down "
    assert _answer_text(b"\xff\xfebroken") == "\ufffd\ufffdbroken"
    assert "b'" not in _answer_text(b"plain text")
