"""A link's faults cost little and are said plainly (issue 20 item 4, issue 13 section 2).

A dead peer costs nothing per submission (no connection attempt, no log line each); a peer
that returns has its queue moving within about two seconds; a push that waits for its
answer shows the link stalled within five; in-flight envelopes count in the queue depth; the
alarm thresholds come from node.toml; a peer's disconnect mid-request is one plain line.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from secureline.node.compose import Node
from secureline.services.line.directory import Peer
from secureline.services.line.transport import LineTransport, PushAnswer
from tests.integration.support import (
    PAIR,
    Federation,
    delivery_state,
    identity_context,
    officer,
    sample,
    set_option,
    wait_for,
)


class Counting:
    """The node's own transport, counting the attempts made through it."""

    def __init__(self, inner: LineTransport) -> None:
        self.inner = inner
        self.pushes = 0

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        self.pushes += 1
        return self.inner.push(peer, txn_id, body, agreement_digest)

    def close(self) -> None:
        self.inner.close()


class Silent(Counting):
    """A link that stops moving bytes: a push waits until the test lets it go on."""

    def __init__(self, inner: LineTransport) -> None:
        super().__init__(inner)
        self.go_on = threading.Event()

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        self.go_on.wait(30)
        return super().push(peer, txn_id, body, agreement_digest)


def _health(node: Node, peer: str = "europol") -> dict[str, Any]:
    return {h["peer"]: h for h in node.peering.link_health()}[peer]


def _with_transport(fed: Federation, name: str, wrap: Callable[[LineTransport], Any]) -> Any:
    node = fed.construct(name)
    node.transport = wrap(node.transport)
    fed.start(name)
    return node.transport


def _add_section(fed: Federation, name: str, text: str) -> None:
    config = fed.dirs[name] / "node.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


def test_a_dead_peer_costs_no_attempt_and_no_log_line_per_submission(
    federation_factory: Callable[..., Federation], caplog: pytest.LogCaptureFixture
) -> None:
    fed = federation_factory(PAIR, start=())
    counting = _with_transport(fed, "interpol", Counting)
    interpol = fed["interpol"]
    caplog.set_level(logging.INFO, logger="secureline.services.line.outbox")
    started = time.monotonic()
    for i in range(40):
        interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=100 + i))
        time.sleep(0.05)
    elapsed = time.monotonic() - started

    # Probed at the link's pace (at least every probe_interval_seconds, 1 s), not per message.
    assert counting.pushes <= elapsed / 0.25 + 2, (counting.pushes, elapsed)
    assert counting.pushes < 20
    lines = [r for r in caplog.records if "europol" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "unreachable" in lines[0].getMessage()
    health = _health(interpol)
    assert health["link_state"] == "down"
    assert 1 <= health["failed_attempts"] <= counting.pushes
    assert health["queue_depth"] == 40


def test_a_returning_peer_has_its_queue_moving_within_two_seconds(
    federation_factory: Callable[..., Federation], caplog: pytest.LogCaptureFixture
) -> None:
    fed = federation_factory(PAIR, start=())
    # A backoff already long (as after a long outage): the returning peer must not wait for it.
    set_option(fed.dirs["interpol"], "line", "retry_initial_seconds", "8.0")
    fed.start("interpol")
    fed.construct("europol")  # exists, but does not listen yet
    interpol = fed["interpol"]
    caplog.set_level(logging.INFO, logger="secureline.services.line.outbox")
    ids = [
        s.id
        for s in interpol.messaging.submit_many(
            officer(interpol), [sample("ops@europol", seed=300 + i) for i in range(20)]
        )
    ]
    wait_for(lambda: _health(interpol)["last_error"], what="a failed attempt")
    time.sleep(1.5)

    fed.start("europol")
    back = time.monotonic()
    wait_for(
        lambda: all(delivery_state(interpol, i, "europol") == "delivered" for i in ids),
        timeout=20,
        what="the queue delivered",
    )
    assert time.monotonic() - back < 2.5
    wait_for(lambda: _health(interpol)["link_state"] == "up", what="the link up")
    assert _health(interpol)["failed_attempts"] == 0
    states = [r.getMessage() for r in caplog.records if "line to europol" in r.getMessage()]
    assert len(states) == 2, states  # unreachable, then up again: one line per change
    assert "up again" in states[1]


def test_a_silent_link_shows_stalled_with_its_envelopes_in_the_depth(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=("europol",))
    silent = _with_transport(fed, "interpol", Silent)
    interpol = fed["interpol"]
    try:
        sent = interpol.messaging.submit_many(
            officer(interpol), [sample("ops@europol", seed=500 + i) for i in range(3)]
        )
        wait_for(lambda: _health(interpol)["in_flight"] == 3, what="three envelopes on the wire")
        assert _health(interpol)["queue_depth"] == 3  # in flight counts as undelivered
        assert _health(interpol)["link_state"] != "stalled"  # not before the threshold
        # The threshold (5 s) is counted from the push itself, not from when a loaded
        # machine gets round to asking: the alarm says how long the push has waited.
        wait_for(lambda: _health(interpol)["link_state"] == "stalled", timeout=15, what="stalled")
        health = _health(interpol)
        assert not health["connected"]
        stalled = [a for a in health["alarms"] if a.startswith("stalled")]
        assert stalled, health["alarms"]
        waited = int(stalled[0].split("waited ")[1].split(" s")[0])
        assert 5 <= waited <= 15, stalled
    finally:
        silent.go_on.set()
    wait_for(
        lambda: all(delivery_state(interpol, s.id, "europol") == "delivered" for s in sent),
        what="the envelopes delivered once the link moves again",
    )
    assert _health(interpol)["link_state"] == "up"


def test_alarm_thresholds_come_from_node_toml(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    _add_section(fed, "interpol", "[alarms]\nqueue_depth = 4\nlink_down_seconds = 1\n")
    fed.start("interpol")
    interpol = fed["interpol"]
    interpol.messaging.submit_many(
        officer(interpol), [sample("ops@europol", seed=700 + i) for i in range(5)]
    )
    wait_for(lambda: _health(interpol)["link_state"] == "down", what="the link down")

    def alarms() -> list[str]:
        found: list[str] = _health(interpol)["alarms"]
        return found if len(found) >= 2 else []

    raised = wait_for(alarms, timeout=5, what="both alarms")
    assert any("5 envelopes queued (alarm over 4)" in a for a in raised), raised
    assert any(a.startswith("link unreachable for") for a in raised), raised


def test_a_peer_disconnecting_mid_request_is_one_plain_line(
    pair: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    interpol = pair["interpol"]
    layout = pair.layout("europol")
    context: ssl.SSLContext = identity_context(
        pair.layout("interpol").ca_certificate.read_bytes(),
        layout.tls_certificate,
        layout.tls_key,
    )
    caplog.set_level(logging.INFO, logger="secureline.interfaces.line.server")
    with (
        socket.create_connection(("127.0.0.1", interpol.line_port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(
            b"PUT /line/v1/transactions/t" + b"0" * 40 + b" HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: 100000\r\n\r\n" + b'{"v": 1, "envelopes": ['
        )
        time.sleep(0.2)  # the server is reading the body when the peer goes
    wait_for(
        lambda: [r for r in caplog.records if "disconnected" in r.getMessage()],
        timeout=5,
        what="the disconnect logged",
    )
    time.sleep(0.2)
    records = [r for r in caplog.records if r.name == "secureline.interfaces.line.server"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.INFO
    assert "europol disconnected" in records[0].getMessage()
    assert records[0].exc_info is None
