"""The API's edge (issue 13, 1.7, 1.8 and 3): strict Bearer authentication before anything
else, failed authentications rate limited per source in the database and audited, bounded
bodies, JSON and query parameters, and one error shape for every error."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from secureline.cli.samples import draft
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.services.accounts import AUTH_FAILURE_LIMIT
from secureline.store.accounts import auth_failures
from secureline.store.audit import audit_records
from secureline.store.messages import count_messages
from tests.integration.support import unstarted_interpol

Api = tuple[TestClient, dict[str, str], Node]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    node = unstarted_interpol(tmp_path)
    node.accounts.add_user("test", "alice", "cc", "officer", "correct horse battery")
    token = node.accounts.create_token("test", "alice")
    services = node.api_services().model_copy(update={"max_body_bytes": 64 * 1024})
    with TestClient(create_app(services)) as client:
        yield client, {"Authorization": f"Bearer {token}"}, node
    node.db.dispose()


def _message(**change: Any) -> dict[str, Any]:
    return draft(random.Random(1), "ops@europol", "maritime-piracy", "t") | change


def _error(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == code
    assert set(error) >= {"code", "message", "field"}
    return error


# --- authentication --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["{token}", "Token {token}", "Basic {token}", "Bearer", "Bearer  {token}", "Bearer {token} x"],
)
def test_only_bearer_and_the_token_is_accepted(api: Api, header: str) -> None:
    client, auth, _ = api
    token = auth["Authorization"].removeprefix("Bearer ")
    answer = client.get("/api/v1/inbox", headers={"Authorization": header.format(token=token)})
    _error(answer, 401, "not_authenticated")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/inbox", headers=auth).status_code == 200


@pytest.mark.parametrize("path", ["/api/openapi.json", "/docs", "/openapi.json", "/api/v1/nope"])
def test_the_nodes_shape_is_not_shown_without_a_token(api: Api, path: str) -> None:
    client, _, _ = api
    _error(client.get(path), 401, "not_authenticated")


def test_the_openapi_document_is_served_to_an_authenticated_client(api: Api) -> None:
    client, auth, _ = api
    assert client.get("/api/openapi.json", headers=auth).json()["info"]["title"]


def test_failed_authentications_are_limited_per_source_and_audited(api: Api) -> None:
    client, auth, node = api
    for _ in range(AUTH_FAILURE_LIMIT):
        _error(
            client.get("/api/v1/inbox", headers={"Authorization": "Bearer slt_x"}),
            401,
            "not_authenticated",
        )
    # past the limit even a good token from that source is refused, without being looked at
    answer = client.get("/api/v1/inbox", headers=auth)
    _error(answer, 429, "too_many_failures")
    assert int(answer.headers["retry-after"]) > 0
    with node.db.read() as conn:
        counted = conn.execute(select(auth_failures.c.source, auth_failures.c.failures)).all()
        audited = conn.execute(
            select(audit_records.c.actor, audit_records.c.outcome, audit_records.c.detail_json)
            .where(audit_records.c.action == "login.failure")
            .order_by(audit_records.c.seq)
        ).all()
    assert [tuple(r) for r in counted] == [("testclient", AUTH_FAILURE_LIMIT)]
    assert len(audited) == AUTH_FAILURE_LIMIT  # the refusals past the limit add none
    assert {r.actor for r in audited} == {"api:testclient"}
    assert audited[-1].outcome == "locked"
    assert all("slt_x" not in r.detail_json for r in audited)  # no secret in the chain


# --- bounds on input -------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_by_its_content_length(api: Api) -> None:
    client, auth, node = api
    answer = client.post(
        "/api/v1/messages",
        content=b"{" + b" " * (64 * 1024) + b"}",
        headers=auth | {"content-type": "application/json"},
    )
    assert "max_body_bytes" in _error(answer, 413, "body_too_large")["message"]
    assert count_messages(node.db, "out") == 0


def test_a_streamed_body_over_the_limit_is_413_as_it_passes_it(api: Api) -> None:
    client, auth, _ = api
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            sent.append(1)
            yield b" " * 4096

    answer = client.post(
        "/api/v1/messages", content=chunks(), headers=auth | {"content-type": "application/json"}
    )
    _error(answer, 413, "body_too_large")
    assert "content-length" not in answer.request.headers


def test_json_nested_too_deep_is_refused(api: Api) -> None:
    client, auth, _ = api
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    answer = client.post("/api/v1/messages", json=_message(entities=deep), headers=auth)
    assert _error(answer, 422, "too_deep")["field"].startswith("body.entities")


def test_a_cursor_past_64_bits_is_422_not_500(api: Api) -> None:
    client, auth, _ = api
    error = _error(client.get(f"/api/v1/inbox?after={10**30}", headers=auth), 422, "invalid_input")
    assert error["field"] == "query.after"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "a\x00b"}, "body.subject"),
        ({"subject": "two\nlines"}, "body.subject"),
        ({"purpose": "x\x1b[31m"}, "body.purpose"),
        ({"body": "bell\x07"}, "body.body"),
        ({"case_ref": "\x7f"}, "body.case_ref"),
    ],
)
def test_control_characters_in_text_are_refused_naming_the_field(
    api: Api, change: dict[str, str], field: str
) -> None:
    client, auth, node = api
    answer = client.post("/api/v1/messages", json=_message(**change), headers=auth)
    assert _error(answer, 422, "control_character")["field"] == field
    assert count_messages(node.db, "out") == 0


def test_line_breaks_stay_allowed_in_a_body(api: Api) -> None:
    client, auth, _ = api
    answer = client.post("/api/v1/messages", json=_message(body="one\r\n\ttwo"), headers=auth)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "a/b.pdf", "a\\b.pdf", "..", "x\x00.pdf", "é" * 128, "tab\t.pdf"]
)
def test_unsafe_attachment_names_are_refused(api: Api, name: str) -> None:
    client, auth, node = api
    attachment = {"name": name, "media_type": "application/pdf", "size": 1, "sha256": "0" * 64}
    answer = client.post("/api/v1/messages", json=_message(attachments=[attachment]), headers=auth)
    error = _error(answer, 422, "unsafe_attachment_name")
    assert error["field"] == "body.attachments[0].name"
    assert count_messages(node.db, "out") == 0


# --- one error shape -------------------------------------------------------------------


def test_validation_names_the_field_path(api: Api) -> None:
    client, auth, _ = api
    answer = client.post("/api/v1/messages", json=_message(to=["nobody"]), headers=auth)
    error = _error(answer, 422, "invalid_input")
    assert error["field"] == "body.to[0]"
    assert error["message"].startswith("body.to[0]: ")


def test_malformed_json_is_422_in_the_one_shape(api: Api) -> None:
    client, auth, _ = api
    answer = client.post(
        "/api/v1/messages", content=b"{nope", headers=auth | {"content-type": "application/json"}
    )
    assert _error(answer, 422, "invalid_input")["field"].startswith("body")


def test_unknown_route_and_wrong_method_have_the_one_shape(api: Api) -> None:
    client, auth, _ = api
    _error(client.get("/api/v1/nope", headers=auth), 404, "not_found")
    _error(client.delete("/api/v1/inbox", headers=auth), 405, "method_not_allowed")


def test_the_error_shape_is_the_one_documented(api: Api) -> None:
    client, auth, _ = api
    document = orjson.loads(client.get("/api/openapi.json", headers=auth).content)
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorDetail"]["properties"]) >= {"code", "message", "field"}
    for path, operations in document["paths"].items():
        if path == "/healthz":
            continue
        for method, operation in operations.items():
            for status in ("401", "403", "404", "409", "413", "422"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/ErrorOut"}, (path, method, status)


def test_a_malformed_message_id_is_422_and_echoed_only_escaped(api: Api) -> None:
    client, auth, _ = api
    answer = client.get("/api/v1/messages/a%0Db%1Bc/status", headers=auth)
    error = _error(answer, 422, "invalid_input")
    assert error["field"] == "path.message_id"
    assert "\r" not in answer.text
    assert "\x1b" not in answer.json()["error"]["message"]


def test_a_body_that_is_not_utf8_is_422_not_400(api: Api) -> None:
    client, auth, _ = api
    answer = client.post(
        "/api/v1/review/msg-00000000/purge",
        content=b'{"reason": "\xff"}',
        headers=auth | {"content-type": "application/json"},
    )
    assert _error(answer, 422, "invalid_input")["field"] == "body"


def test_a_lockout_ends_with_its_window_and_is_per_source(api: Api) -> None:
    from datetime import UTC, datetime

    from secureline.services.accounts import AUTH_FAILURE_WINDOW, Accounts, TooManyFailures
    from secureline.services.errors import NotAuthenticated

    _, auth, node = api
    now = [datetime(2026, 12, 3, 12, 0, tzinfo=UTC)]
    accounts = Accounts(node.db, node.audit, lambda: now[0])
    for _ in range(AUTH_FAILURE_LIMIT):
        with pytest.raises(NotAuthenticated):
            accounts.authenticate_request("Bearer slt_wrong", "192.0.2.1")
    with pytest.raises(TooManyFailures):
        accounts.authenticate_request(auth["Authorization"], "192.0.2.1")
    # another address is not locked out by the first one's failures
    assert accounts.authenticate_request(auth["Authorization"], "192.0.2.2").username == "alice"
    now[0] += AUTH_FAILURE_WINDOW
    assert accounts.authenticate_request(auth["Authorization"], "192.0.2.1").username == "alice"
    with pytest.raises(NotAuthenticated) as again:
        accounts.authenticate_request("slt_bare", "192.0.2.1")
    assert not isinstance(again.value, TooManyFailures)  # a new window counts from one
    with node.db.read() as conn:
        rows = conn.execute(select(auth_failures.c.source, auth_failures.c.failures)).all()
    assert [tuple(r) for r in rows] == [("192.0.2.1", 1)]
