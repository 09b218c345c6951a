"""Capabilities on the line (issue 14, item 3; docs/protocol.md §3c): each node states, signed,
the protocol version and kinds it supports in every transaction and answer; a sender uses
the narrower of that statement and the pinned peer file, recorded in the store, and a peer
that states nothing (an older node) is taken as its peer file says.

europol takes every kind but ``strategic-report``; here interpol's pinned peer file for it is
made to say more (every kind of protocol 1), as if europol had narrowed its kinds since it
was pinned: only europol's statement on the line tells interpol.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.domain.vocabulary import Kind
from secureline.node.compose import Node
from secureline.services.errors import Refused
from secureline.services.line.capabilities import (
    PROTOCOL_1,
    sign_statement,
    write_capabilities,
)
from secureline.store import tables
from tests.integration.support import Federation, officer, sample, wait_state
from tests.integration.test_kinds import MIXED_PAIR, OLDER, REPORT

runner = CliRunner()


@pytest.fixture
def mixed(federation_factory: Callable[..., Federation]) -> Federation:
    return federation_factory(MIXED_PAIR)


def _pin_wider(fed: Federation) -> Node:
    """interpol's peer file for europol says every protocol 1 kind; nothing heard yet."""
    interpol = fed["interpol"]
    write_capabilities(fed.layout("interpol").peer_capabilities("europol"), PROTOCOL_1)
    _forget_statements(interpol)
    return interpol


def _forget_statements(node: Node) -> None:
    with node.db.transaction() as conn:
        conn.execute(
            update(tables.peers).values(stated_protocol=None, stated_kinds=None, stated_at=None)
        )
    node.directory.reload()


def _stated(node: Node, peer: str) -> tuple[int | None, list[str] | None]:
    with node.db.read() as conn:
        row = conn.execute(
            select(tables.peers.c.stated_protocol, tables.peers.c.stated_kinds).where(
                tables.peers.c.name == peer
            )
        ).one()
    return row[0], (orjson.loads(row[1]) if row[1] is not None else None)


def test_a_narrower_statement_on_the_line_wins_over_the_peer_file(
    mixed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    interpol = _pin_wider(mixed)
    assert interpol.directory.capabilities("europol").supports(Kind.STRATEGIC_REPORT)

    # Before europol has said anything, the peer file decides: the report leaves, and
    # europol refuses it on arrival (unknown_kind), answering with its statement.
    first = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=1, **REPORT))
    wait_state(interpol, first.id, "europol", ["refused"])
    assert _stated(interpol, "europol") == (1, OLDER)
    assert not interpol.directory.capabilities("europol").supports(Kind.STRATEGIC_REPORT)

    # Now the sender refuses it at submit, naming europol, and nothing is queued.
    with pytest.raises(Refused) as refused:
        interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=2, **REPORT))
    (reason,) = refused.value.reasons
    assert reason.code == "kind_not_supported"
    assert "europol does not support the kind 'strategic-report'" in reason.text

    # The statement is in the store, which every worker reads: a directory built again
    # from it (another worker, or after a restart) narrows just the same.
    interpol.directory.reload()
    assert not interpol.directory.capabilities("europol").supports(Kind.STRATEGIC_REPORT)

    # What both support still flows.
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=3))
    wait_state(interpol, sent.id, "europol", ["delivered"])

    # peer list --json shows the peer file, the statement (from the store) and the result
    monkeypatch.setattr(common, "node_at", lambda directory: interpol)
    done = runner.invoke(app, ["peer", "list", "--dir", str(mixed.dirs["interpol"]), "--json"])
    assert done.exit_code == 0, done.output
    europol = {h["peer"]: h for h in json.loads(done.output)}["europol"]
    assert europol["peer_file_capabilities"] == PROTOCOL_1.to_json()
    assert europol["stated_capabilities"]["kinds"] == OLDER
    assert europol["stated_capabilities"]["protocol"] == 1
    assert europol["stated_capabilities"]["at"] is not None
    assert europol["capabilities"] == {"protocol": 1, "kinds": OLDER}


def test_a_peer_that_states_nothing_is_taken_as_its_peer_file_says(mixed: Federation) -> None:
    """europol plays a node older than the statement: no ``capabilities`` in its answers
    nor its transactions. Messages flow both ways; interpol records nothing for it."""
    interpol, europol = mixed["interpol"], mixed["europol"]
    europol.inbox.statement = None  # type: ignore[assignment]
    for sender in europol.senders.values():
        sender._statement = None
    _forget_statements(interpol)
    _forget_statements(europol)

    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=4))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    back = europol.messaging.submit(officer(europol), sample("cc@interpol", seed=5))
    wait_state(europol, back.id, "interpol", ["delivered"])

    assert _stated(interpol, "europol") == (None, None)
    assert sorted(interpol.directory.capabilities("europol").kinds) == OLDER  # its peer file
    # interpol states itself, in its transactions and its answers: europol took it in
    assert _stated(europol, "interpol") == (1, sorted(PROTOCOL_1.kinds))


def test_a_statement_not_signed_by_the_peer_is_set_aside(mixed: Federation) -> None:
    """A statement claiming europol supports more, signed with another node's key, is not
    trusted: nothing is recorded, the peer file stays in force, and the line still works."""
    interpol, europol = mixed["interpol"], mixed["europol"]
    forged = sign_statement("europol", PROTOCOL_1, interpol.identity.signing)
    europol.inbox.statement = forged
    _forget_statements(interpol)

    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=6))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    assert _stated(interpol, "europol") == (None, None)
    assert not interpol.directory.capabilities("europol").supports(Kind.STRATEGIC_REPORT)
