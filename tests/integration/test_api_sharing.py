"""The REST API for permissions, deletion and the review queue (issue 4)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.cli.samples import draft
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.services.errors import Conflict
from secureline.store import grants as grant_store
from tests.conftest import StoreFor
from tests.integration.support import Federation, officer, sample, wait_state


@pytest.fixture
def api(tmp_path: Path, store_for: StoreFor) -> Iterator[tuple[TestClient, dict[str, str], Node]]:
    dirs = build(
        tmp_path,
        [
            NodeSpec("interpol", "Interpol", units=[("cc", False, None)]),
            NodeSpec("europol", "Europol", units=[("ops", False, None)]),
        ],
        [LinkSpec("interpol", "europol")],
        store=store_for,
    )
    node = Node(dirs["interpol"])
    node.accounts.add_user("test", "alice", "cc", "officer", "correct horse battery")
    node.accounts.add_user("test", "root", "cc", "admin", "correct horse battery")
    tokens = {
        "officer": node.accounts.create_token("test", "alice"),
        "admin": node.accounts.create_token("test", "root"),
    }
    with TestClient(create_app(node.api_services())) as client:
        yield client, tokens, node
    node.db.dispose()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_grant_retract_and_review_over_the_api(
    api: tuple[TestClient, dict[str, str], Node],
) -> None:
    client, tokens, node = api
    officer = _auth(tokens["officer"])
    message = draft(random.Random(3), "ops@europol", "cyber-crime", "t", handling="H2")
    sent = client.post("/api/v1/messages", json=message, headers=officer)
    assert sent.status_code == 201, sent.text
    message_id = sent.json()["id"]

    granted = client.post(
        "/api/v1/permissions/grants",
        json={"message_id": message_id, "grantee": "fbi", "scope": "onward-transfer"},
        headers=officer,
    )
    assert granted.status_code == 201, granted.text
    grant = granted.json()["grant"]
    assert grant["message_id"] == message_id
    assert grant["signature"].count(".") == 2
    assert granted.json()["carrier"]["destinations"] == ["europol"]
    listed = client.get("/api/v1/permissions", headers=officer).json()
    assert [(g["id"], g["direction"]) for g in listed] == [(grant["id"], "issued")]

    unknown = client.post(
        "/api/v1/permissions/grants",
        json={"message_id": "msg-" + "0" * 24, "grantee": "fbi", "scope": "onward-transfer"},
        headers=officer,
    )
    assert unknown.status_code == 404
    assert "msg-" + "0" * 24 in unknown.json()["error"]["message"]
    assert len(grant_store.list_grants(node.db)) == 1

    retracted = client.post(
        f"/api/v1/messages/{message_id}/retract", json={"reason": "sent in error"}, headers=officer
    )
    assert retracted.status_code == 201, retracted.text

    assert client.get("/api/v1/review", headers=officer).json() == []
    run = client.post("/api/v1/review/run", headers=officer)
    assert run.status_code == 403
    run = client.post("/api/v1/review/run", headers=_auth(tokens["admin"]))
    assert run.status_code == 200
    assert run.json() == {"queued": [], "purged": []}
    purged = client.post(
        f"/api/v1/review/{message_id}/purge", json={"reason": "no longer needed"}, headers=officer
    )
    assert purged.status_code == 204
    again = client.post(
        f"/api/v1/review/{message_id}/purge", json={"reason": "no longer needed"}, headers=officer
    )
    assert again.status_code == 404


def test_a_permission_request_refused_over_the_api(pair: Federation) -> None:
    """The provider refuses with a reason: listed as refused with it, decided once (a grant
    or a second refusal after it is 409 permission_decided), and only officers and
    administrators decide (403 permission_decision_not_permitted)."""
    interpol, europol = pair["interpol"], pair["europol"]
    h2 = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=83, handling="H2"))
    wait_state(interpol, h2.id, "europol", ["delivered"])
    asked = europol.sharing.request_permission(
        officer(europol), h2.id, "onward-transfer", "europol", reason="joint investigation"
    )
    wait_state(europol, asked.id, "interpol", ["delivered"])
    auth = {}
    for name, role in (("alice", "officer"), ("dora", "dpo")):
        interpol.accounts.add_user("test", name, "cc", role, "correct horse battery")
        auth[name] = _auth(interpol.accounts.create_token("test", name))
    with TestClient(create_app(interpol.api_services())) as client:
        [pending] = client.get("/api/v1/permissions", headers=auth["alice"]).json()
        assert (pending["state"], pending["id"]) == ("pending", asked.id)
        assert (pending["message_id"], pending["reason"]) == (h2.id, "joint investigation")

        refuse = f"/api/v1/permissions/{asked.id}/refuse"
        dpo = client.post(refuse, json={"reason": "no"}, headers=auth["dora"])
        assert dpo.status_code == 403
        assert dpo.json()["error"]["code"] == "permission_decision_not_permitted"
        assert set(dpo.json()["error"]) >= {"code", "message", "field"}
        refused = client.post(refuse, json={"reason": "still covert"}, headers=auth["alice"])
        assert refused.status_code == 204, refused.text

        [item] = client.get("/api/v1/permissions", headers=auth["alice"]).json()
        assert (item["state"], item["request_id"], item["reason"]) == (
            "refused",
            asked.id,
            "still covert",
        )
        assert (item["message_id"], item["grantee"], item["scope"]) == (
            h2.id,
            "europol",
            "onward-transfer",
        )
        again = client.post(refuse, json={"reason": "still covert"}, headers=auth["alice"])
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "permission_decided"
        grant = client.post(
            "/api/v1/permissions/grants", json={"request_id": asked.id}, headers=auth["alice"]
        )
        assert grant.status_code == 409
        assert grant.json()["error"]["code"] == "permission_decided"
        unknown = client.post(
            f"/api/v1/permissions/{h2.id}/refuse", json={"reason": "x"}, headers=auth["alice"]
        )
        assert unknown.status_code == 404  # not a permission request received here
    # the refusal is no grant: none issued, none reached the requester
    assert [g.direction for g in grant_store.list_grants(interpol.db)] == ["refused"]
    assert grant_store.list_grants(europol.db) == []


def test_two_refusals_at_once_decide_once(pair: Federation) -> None:
    """Two workers refusing the same request at the same time: one refusal, one 409."""
    interpol, europol = pair["interpol"], pair["europol"]
    h2 = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=86, handling="H2"))
    wait_state(interpol, h2.id, "europol", ["delivered"])
    asked = europol.sharing.request_permission(officer(europol), h2.id, "onward-transfer", "fbi")
    wait_state(europol, asked.id, "interpol", ["delivered"])
    start = threading.Barrier(2)
    outcomes: list[Exception | None] = []

    def refuse(who: str) -> None:
        start.wait()
        try:
            interpol.sharing.refuse_permission(officer(interpol, who=who), asked.id, "no")
            outcomes.append(None)
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=refuse, args=(who,)) for who in ("bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(str(type(o).__name__) for o in outcomes) == ["Conflict", "NoneType"]
    refused = [g for g in grant_store.list_grants(interpol.db) if g.request_id == asked.id]
    assert len(refused) == 1
