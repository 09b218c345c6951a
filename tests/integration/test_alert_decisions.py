"""Four eyes on alerts, both decisions (issue 13, section 4): the held-for-review queue, and
a second officer's rejection with a reason, through the API and the CLI of running nodes.

A rejected alert never leaves: its deliveries are refused with ``alert_rejected`` at the
origin, its signed envelopes are gone, and the destination never stores it. Deciding twice,
or on a message that is not held, is a 409 ``alert_not_held``; the author is refused
``own_alert`` and a role that never reviews ``alert_review_not_permitted``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.domain.audit import AuditAction
from secureline.interfaces.api.app import create_app
from secureline.services.errors import Conflict, Forbidden
from secureline.store import tables
from tests.integration.support import (
    ADMIN,
    Federation,
    count_rows,
    log_in,
    message_row,
    officer,
    sample,
    wait_state,
)

runner = CliRunner()
PEOPLE = {"alice": "officer", "bob": "officer", "dora": "dpo", "nat": "system"}


@pytest.fixture
def api(pair: Federation) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    interpol = pair["interpol"]
    auth = {}
    for name, role in PEOPLE.items():
        interpol.accounts.add_user("test", name, "cc", role, "correct horse battery")
        auth[name] = {"Authorization": f"Bearer {interpol.accounts.create_token('test', name)}"}
    with TestClient(create_app(interpol.api_services())) as client:
        yield client, auth


@pytest.fixture
def cli(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    """The CLI acts on the running nodes (one Node per command would leave its pool open)."""
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    monkeypatch.setattr(common.out, "width", 250)
    return pair


def _alert(seed: int) -> dict[str, Any]:
    return sample("ops@europol", "counter-terrorism", seed=seed, kind="alert", alert="red")


def _error(answer: Any) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}
    assert {"code", "message", "field"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


def _never_delivered(fed: Federation, message_id: str) -> None:
    """The origin holds no envelope of it, and the destination never stored it (checked
    after the link had time to carry anything it would have carried)."""
    interpol, europol = fed["interpol"], fed["europol"]
    assert count_rows(interpol, tables.envelopes, tables.envelopes.c.message_id == message_id) == 0
    # the content its envelopes carried stays at the origin (issue 20: kept once, moved here)
    assert interpol.messaging.open(officer(interpol), message_id).content is not None
    # a later message on the same link arrives: the rejected one would have gone before it
    later = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=99))
    wait_state(interpol, later.id, "europol", ["delivered"])
    time.sleep(0.2)
    assert message_row(europol, message_id) is None
    assert count_rows(europol, tables.mailbox, tables.mailbox.c.message_id == message_id) == 0


def test_a_rejected_alert_is_refused_at_the_api_and_never_leaves(
    pair: Federation, api: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, auth = api
    sent = client.post("/api/v1/messages", json=_alert(71), headers=auth["alice"])
    assert sent.status_code == 201, sent.text
    assert sent.json()["held_for_review"]
    alert_id = sent.json()["id"]

    queue = client.get("/api/v1/alerts/held", headers=auth["bob"])
    assert queue.status_code == 200, queue.text
    [held] = queue.json()
    assert held["id"] == alert_id
    assert (held["author"], held["unit"], held["destinations"]) == ("alice", "cc", ["europol"])
    assert held["subject"] == _alert(71)["subject"]
    assert held["created_at"]

    own = client.post(
        f"/api/v1/messages/{alert_id}/reject", json={"reason": "mine"}, headers=auth["alice"]
    )
    assert own.status_code == 403
    assert _error(own)["code"] == "own_alert"
    for role in ("dora", "nat"):  # the DPO and a national system never review alerts
        listed = client.get("/api/v1/alerts/held", headers=auth[role])
        assert listed.status_code == 403
        assert _error(listed)["code"] == "alert_review_not_permitted"
        refused = client.post(
            f"/api/v1/messages/{alert_id}/reject", json={"reason": "no"}, headers=auth[role]
        )
        assert refused.status_code == 403
        assert _error(refused)["code"] == "alert_review_not_permitted"
    unstated = client.post(
        f"/api/v1/messages/{alert_id}/reject", json={"reason": "   "}, headers=auth["bob"]
    )
    assert unstated.status_code == 422
    assert _error(unstated)["field"] == "reason"

    rejected = client.post(
        f"/api/v1/messages/{alert_id}/reject",
        json={"reason": "the suspect was arrested"},
        headers=auth["bob"],
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json() == {"id": alert_id, "refused": ["europol"]}
    status = client.get(f"/api/v1/messages/{alert_id}/status", headers=auth["alice"]).json()
    [delivery] = status["deliveries"]
    assert (delivery["state"], delivery["reason_code"]) == ("refused", "alert_rejected")
    assert delivery["reason_text"] == "the suspect was arrested"
    assert client.get("/api/v1/alerts/held", headers=auth["bob"]).json() == []

    for decision in ("reject", "approve"):  # decided once
        again = client.post(
            f"/api/v1/messages/{alert_id}/{decision}", json={"reason": "x"}, headers=auth["bob"]
        )
        assert again.status_code == 409
        assert _error(again)["code"] == "alert_not_held"
    _never_delivered(pair, alert_id)


def test_approving_twice_or_rejecting_an_approved_alert_is_a_conflict(
    pair: Federation, api: tuple[TestClient, dict[str, dict[str, str]]]
) -> None:
    client, auth = api
    alert_id = client.post("/api/v1/messages", json=_alert(72), headers=auth["alice"]).json()["id"]
    approved = client.post(f"/api/v1/messages/{alert_id}/approve", headers=auth["bob"])
    assert approved.status_code == 204
    twice = client.post(f"/api/v1/messages/{alert_id}/approve", headers=auth["bob"])
    assert twice.status_code == 409
    assert _error(twice)["code"] == "alert_not_held"
    late = client.post(
        f"/api/v1/messages/{alert_id}/reject", json={"reason": "too late"}, headers=auth["bob"]
    )
    assert late.status_code == 409
    assert _error(late)["code"] == "alert_not_held"
    assert wait_state(pair["interpol"], alert_id, "europol", ["delivered"]) == "delivered"
    plain = client.post(
        "/api/v1/messages", json=sample("ops@europol", seed=73), headers=auth["alice"]
    )
    not_alert = client.post(
        f"/api/v1/messages/{plain.json()['id']}/reject", json={"reason": "x"}, headers=auth["bob"]
    )
    assert not_alert.status_code == 422


def test_alert_held_and_reject_from_the_cli(cli: Federation) -> None:
    interpol = cli["interpol"]
    where = str(cli.dirs["interpol"])
    author = officer(interpol)
    sent = interpol.messaging.submit(author, _alert(74))
    log_in(interpol, where, who="bob")
    listed = runner.invoke(app, ["alert", "held", "--dir", where, "--json"])
    assert listed.exit_code == 0, listed.output
    [held] = json.loads(listed.output)
    assert (held["id"], held["author"], held["unit"]) == (sent.id, author.username, "cc")
    assert held["destinations"] == ["europol"]
    table = runner.invoke(app, ["alert", "held", "--dir", where])
    assert sent.id in table.output
    assert author.username in table.output

    def reject(by: str, reason: str = "wrong colour") -> Any:
        log_in(interpol, where, who=by)  # the second officer decides as themselves
        return runner.invoke(
            app, ["alert", "reject", sent.id[:-4], "--dir", where, "--reason", reason]
        )

    done = reject("bob")
    assert done.exit_code == 0, done.output
    assert "rejected by cc-bob" in done.output
    assert "alert_rejected" in done.output
    assert wait_state(interpol, sent.id, "europol", ["refused"]) == "refused"
    status = interpol.messaging.status(ADMIN, sent.id)
    assert [d.reason_code for d in status.deliveries] == ["alert_rejected"]
    again = reject("carol")
    assert isinstance(again.exception, Conflict)
    assert again.exception.code == "alert_not_held"
    assert json.loads(runner.invoke(app, ["alert", "held", "--dir", where, "--json"]).output) == []
    _never_delivered(cli, sent.id)


def test_the_cli_author_cannot_reject_their_own_alert(cli: Federation) -> None:
    where = str(cli.dirs["interpol"])
    log_in(cli["interpol"], where)
    sent = runner.invoke(
        app,
        ["send", "--dir", where, "--from", "cc", "--to", "ops@europol", "--kind", "alert",
         "--alert", "red", "--area", "counter-terrorism", "--handling", "H0",
         "--subject", "Wanted"],
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    alert_id = sent.output.split()[0]
    own = runner.invoke(
        app,
        ["alert", "reject", alert_id, "--dir", where, "--reason", "mine"],
    )  # the same person who sent it
    assert isinstance(own.exception, Forbidden)
    assert own.exception.code == "own_alert"
    records = cli["interpol"].audit.records_for_object(alert_id)
    assert AuditAction.ALERT_REJECTED.value not in [r.action for r in records]


def _race(*decisions: Callable[[], object]) -> list[BaseException | None]:
    """Run the decisions at once (several workers on one database); what each raised."""
    start = threading.Barrier(len(decisions))
    outcomes: list[BaseException | None] = [None] * len(decisions)

    def run(i: int) -> None:
        start.wait()
        try:
            decisions[i]()
        except Exception as exc:  # noqa: BLE001 (the outcome is what the test reads)
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(decisions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_approve_and_reject_at_once_decide_once(pair: Federation) -> None:
    interpol = pair["interpol"]
    messaging = interpol.messaging
    for seed in (75, 76, 77):
        sent = messaging.submit(officer(interpol), _alert(seed))
        outcomes = _race(
            partial(messaging.approve_alert, officer(interpol, who="bob"), sent.id),
            partial(messaging.reject_alert, officer(interpol, who="carol"), sent.id, "no"),
            partial(messaging.reject_alert, officer(interpol, who="dave"), sent.id, "no"),
        )
        assert outcomes.count(None) == 1, outcomes
        for lost in (o for o in outcomes if o is not None):
            assert isinstance(lost, Conflict)
            assert lost.code == "alert_not_held"
        decided = [
            r.action
            for r in interpol.audit.records_for_object(sent.id)
            if r.action in (AuditAction.ALERT_APPROVED.value, AuditAction.ALERT_REJECTED.value)
        ]
        assert len(decided) == 1, decided
