"""Alerts over real nodes: many recipients at once, and four eyes before one leaves (issue #6).

Every node here keeps the default ``[alerts] require_review = true``, and every agreement says
``alerts_need_review = true``: an alert leaves only once a second officer approves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from secureline.domain.audit import AuditAction
from secureline.services.errors import Conflict, Forbidden
from secureline.services.roles import Principal, Role
from secureline.store import tables
from tests.integration.support import (
    ADMIN,
    PAIR,
    STAR,
    UNITS,
    Federation,
    count_rows,
    delivery_state,
    officer,
    sample,
    set_option,
    wait_state,
)


def _alert(to: list[str], seed: int = 6, colour: str = "blue") -> dict[str, Any]:
    message = sample(to[0], "counter-terrorism", seed=seed, kind="alert", alert=colour)
    message["to"] = to
    return message


def _states(fed: Federation, origin: str, message_id: str) -> dict[str, str]:
    status = fed[origin].messaging.status(ADMIN, message_id)
    return {d.destination: d.state for d in status.deliveries}


def _audit(fed: Federation, node: str, message_id: str) -> list[tuple[str, str]]:
    return [(r.action, r.actor) for r in fed[node].audit.records_for_object(message_id)]


def test_an_alert_to_n_nodes_yields_n_delivered_evidence_items(
    federation_factory: Callable[..., Federation],
) -> None:
    """ncb-madrid alerts a unit on each of the three other nodes of the star: interpol
    directly, europol and enu-spain through interpol."""
    fed = federation_factory(STAR)
    madrid = fed["ncb-madrid"]
    destinations = ["interpol", "europol", "enu-spain"]
    sent = madrid.messaging.submit(
        officer(madrid), _alert([f"{UNITS[d]}@{d}" for d in destinations])
    )
    assert sent.held_for_review
    assert sorted(sent.destinations) == sorted(destinations)
    madrid.messaging.approve_alert(officer(madrid, who="reviewer"), sent.id)

    for destination in destinations:
        wait_state(madrid, sent.id, destination, ["delivered"], timeout=30)

    evidence = madrid.messaging.status(ADMIN, sent.id).evidence
    delivered = sorted((e.issuer, e.destination) for e in evidence if e.kind == "delivered")
    assert delivered == sorted((d, d) for d in destinations)  # one per recipient node
    relayed = sorted(str(e.destination) for e in evidence if e.kind == "relayed")
    assert relayed == ["enu-spain", "europol"]  # interpol relayed the two it does not keep
    assert not [e for e in evidence if e.kind == "refused"]
    for destination in destinations:
        node = fed[destination]
        inbox = [h.id for _, h in node.messaging.inbox(officer(node), 0, 50)]
        assert inbox == [sent.id]
        assert count_rows(node, tables.mailbox, tables.mailbox.c.message_id == sent.id) == 1
        opened = node.messaging.open(officer(node), sent.id)
        assert opened.header.alert is not None
        assert opened.header.alert.value == "blue"


def test_an_alert_under_review_does_not_leave_until_a_second_officer_approves(
    pair: Federation,
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    author, reviewer = officer(interpol), officer(interpol, who="reviewer")
    sent = interpol.messaging.submit(author, _alert(["ops@europol"], colour="red"))

    assert sent.held_for_review
    assert delivery_state(interpol, sent.id, "europol") == "held"
    time.sleep(2.5)  # more than two idle turns of the sender (1 s each)
    assert delivery_state(interpol, sent.id, "europol") == "held"
    assert count_rows(europol, tables.messages) == 0
    assert {h["peer"]: h for h in interpol.peering.link_health()}["europol"]["queue_depth"] == 0

    with pytest.raises(Forbidden):
        interpol.messaging.approve_alert(author, sent.id)  # not by its own author
    dpo = Principal("test-dpo", "test:dpo@interpol", "", Role.DPO)
    system = Principal("test-sys", "test:system@interpol", "cc", Role.SYSTEM)
    for who in (dpo, system):  # nor by a role that does not review
        with pytest.raises(Forbidden):
            interpol.messaging.approve_alert(who, sent.id)
    time.sleep(1.2)
    assert delivery_state(interpol, sent.id, "europol") == "held"
    assert count_rows(europol, tables.messages) == 0

    interpol.messaging.approve_alert(reviewer, sent.id)

    assert wait_state(interpol, sent.id, "europol", ["delivered"]) == "delivered"
    assert [h.id for _, h in europol.messaging.inbox(officer(europol), 0, 50)] == [sent.id]
    with pytest.raises(Conflict):
        interpol.messaging.approve_alert(officer(interpol, who="third"), sent.id)

    trail = _audit(pair, "interpol", sent.id)
    assert (AuditAction.MESSAGE_CREATED.value, author.username) in trail
    assert (AuditAction.ALERT_APPROVED.value, reviewer.username) in trail
    approvals = [
        r for r in interpol.audit.records_for_object(sent.id) if r.action == "alert.approved"
    ]
    assert len(approvals) == 1
    created = next(
        r for r in interpol.audit.records_for_object(sent.id) if r.action == "message.created"
    )
    assert created.seq < approvals[0].seq
    assert created.outcome == "held"


def test_an_alert_to_two_nodes_under_review_releases_both_on_one_approval(
    chain: Federation,
) -> None:
    madrid = chain["ncb-madrid"]
    sent = madrid.messaging.submit(officer(madrid), _alert(["cc@interpol", "ops@europol"]))
    assert _states(chain, "ncb-madrid", sent.id) == {"interpol": "held", "europol": "held"}
    time.sleep(1.5)
    assert count_rows(chain["interpol"], tables.messages) == 0

    madrid.messaging.approve_alert(officer(madrid, who="reviewer"), sent.id)

    for destination in ("interpol", "europol"):
        wait_state(madrid, sent.id, destination, ["delivered"])


def test_an_agreement_requiring_review_holds_an_alert_even_if_the_organisation_does_not(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    set_option(fed.dirs["interpol"], "alerts", "require_review", "false")
    interpol = fed.start("interpol")
    fed.start("europol")

    sent = interpol.messaging.submit(officer(interpol), _alert(["ops@europol"]))

    assert sent.held_for_review
    assert delivery_state(interpol, sent.id, "europol") == "held"
