"""The REST API's request bodies, in process (FastAPI's TestClient on create_app, a real node
and a real officer's token). The first byte picks the endpoint, the rest is the JSON body.
Any 5xx is a finding; the TestClient re-raises the exception behind a 500 (Starlette's
ServerErrorMiddleware raises it on after answering), so the finding names where it came from."""

from __future__ import annotations

import random
from typing import Any

import orjson
from fastapi.testclient import TestClient

from secureline.cli.samples import draft
from secureline.interfaces.api.app import create_app
from tests.fuzz import common

TARGET = "api"

_STATE: dict[str, Any] = {}


def _client() -> tuple[TestClient, dict[str, str], str]:
    if not _STATE:
        node = common.nodes()["interpol"]
        node.accounts.add_user("test", "fuzz", "cc", "officer", "correct horse battery")
        headers = {"Authorization": f"Bearer {node.accounts.create_token('test', 'fuzz')}"}
        client = TestClient(create_app(node.api_services()))
        sent = client.post("/api/v1/messages", json=_draft(0), headers=headers)
        assert sent.status_code == 201, sent.text
        _STATE.update(client=client, headers=headers, message=sent.json()["id"])
    return _STATE["client"], _STATE["headers"], _STATE["message"]


def _draft(seed: int) -> dict[str, Any]:
    return draft(random.Random(seed), "ops@europol", "cyber-crime", f"api{seed}", handling="H2")


def _paths(message: str) -> list[str]:
    return [
        "/api/v1/messages",
        f"/api/v1/messages/{message}/forward",
        f"/api/v1/messages/{message}/permission-requests",
        "/api/v1/permissions/grants",
        f"/api/v1/messages/{message}/retract",
        f"/api/v1/messages/{message}/correct",
        f"/api/v1/review/{message}/keep",
        "/api/v1/messages/batch",
    ]


def seeds() -> list[bytes]:
    bodies: list[Any] = [
        _draft(1),
        {"to": ["ops@europol"]},
        {"scope": "onward-transfer", "purpose": "investigation"},
        {"message_id": "m", "grantee": "europol", "scope": "onward-transfer"},
        {"reason": "sent in error"},
        {"body": "corrected"},
        {"until": "2027-01-01", "reason": "still needed"},
        [_draft(2), _draft(3) | {"idempotency_key": "k"}],
    ]
    return [bytes([i]) + orjson.dumps(b) for i, b in enumerate(bodies)]


def one_input(data: bytes) -> None:
    if not data:
        return
    client, headers, message = _client()
    paths = _paths(message)
    path = paths[data[0] % len(paths)]

    def call() -> None:
        response = client.post(
            path, content=data[1:], headers={**headers, "Content-Type": "application/json"}
        )
        if response.status_code >= 500:
            raise common.Finding(
                (f"HTTP{response.status_code}", path.replace(message, "{id}")),
                response.text[:300],
            )

    common.guarded(call, ())
