"""The REST API for permissions, deletion and the review queue (issue 4)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.cli.samples import draft
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.store import grants as grant_store
from tests.conftest import StoreFor


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
