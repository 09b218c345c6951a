"""The audit routes of the REST API: the data protection officer only (issue 5)."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from secureline.domain.audit import AuditAction
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.services.audit import AuditLog, read_export
from tests.integration.support import unstarted_interpol

PASSWORD = "correct horse battery"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Node]]:
    node = unstarted_interpol(tmp_path)
    tokens = {}
    for user, role in (("anna", "dpo"), ("alice", "officer"), ("root", "admin")):
        node.accounts.add_user("test", user, "cc", role, PASSWORD)
        tokens[role] = node.accounts.create_token("test", user)
    with TestClient(create_app(node.api_services())) as client:
        yield client, tokens, node
    node.db.dispose()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ROUTES = ["/api/v1/audit/export", "/api/v1/audit/verify", "/api/v1/audit/who-read/m-1"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["officer", "admin"])
def test_audit_routes_are_for_the_dpo_only(
    api: tuple[TestClient, dict[str, str], Node], route: str, role: str
) -> None:
    client, tokens, _ = api
    answer = client.get(route, headers=_auth(tokens[role]))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", ROUTES)
def test_audit_routes_need_a_token(
    api: tuple[TestClient, dict[str, str], Node], route: str
) -> None:
    client, _, _ = api
    assert client.get(route).status_code == 401


def test_export_jsonl_streams_every_record_and_is_recorded(
    api: tuple[TestClient, dict[str, str], Node],
) -> None:
    client, tokens, node = api
    before = list(node.audit.records())
    answer = client.get("/api/v1/audit/export", headers=_auth(tokens["dpo"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    records = list(read_export(answer.text, "jsonl"))
    # The export is itself on the record, written before the records are read.
    assert [r.seq for r in records] == [r.seq for r in before] + [len(before) + 1]
    last = records[-1]
    assert (last.action, last.actor, last.object) == (
        AuditAction.AUDIT_EXPORTED.value,
        "anna",
        "interpol",
    )
    assert records[:-1] == before
    node.audit.verify()
    # A full export verifies against our own checkpoint, as a partner would check it.
    AuditLog.check_against_partner_checkpoint(records, node.audit.checkpoint())


def test_export_csv_by_time(api: tuple[TestClient, dict[str, str], Node]) -> None:
    client, tokens, node = api
    records = list(node.audit.records())
    middle = records[len(records) // 2].at
    answer = client.get(
        "/api/v1/audit/export",
        params={"from": middle.isoformat(), "format": "csv"},
        headers=_auth(tokens["dpo"]),
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    exported = list(read_export(answer.text, "csv"))
    assert exported
    assert all(r.at >= middle for r in exported)
    assert exported[0] == next(r for r in records if r.at >= middle)

    later = records[-1].at + timedelta(days=1)
    empty = client.get(
        "/api/v1/audit/export",
        params={"from": later.isoformat(), "to": (later + timedelta(days=1)).isoformat()},
        headers=_auth(tokens["dpo"]),
    )
    assert list(read_export(empty.text, "jsonl")) == []


def test_export_refuses_an_unknown_format(api: tuple[TestClient, dict[str, str], Node]) -> None:
    client, tokens, _ = api
    answer = client.get(
        "/api/v1/audit/export", params={"format": "xlsx"}, headers=_auth(tokens["dpo"])
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "query.format"


def test_verify_and_who_read_for_the_dpo(api: tuple[TestClient, dict[str, str], Node]) -> None:
    client, tokens, node = api
    answer = client.get("/api/v1/audit/verify", headers=_auth(tokens["dpo"]))
    assert answer.json() == {"ok": True}
    assert client.get("/api/v1/audit/who-read/m-1", headers=_auth(tokens["dpo"])).json() == []
    node.audit.verify()
