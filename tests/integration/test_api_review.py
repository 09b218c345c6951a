"""Retention review across units (issue 13, 1.1): the queue and the keep/purge decisions
belong to the holding unit's officers and the DPO; every refusal is audited and is a 403
with a named code, through the API and through the service the CLI calls."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.cli.samples import draft
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.services.errors import Forbidden
from secureline.services.roles import Principal, Role
from secureline.store import retention as retention_store
from secureline.store.audit import audit_records
from tests.conftest import StoreFor

Api = tuple[TestClient, dict[str, dict[str, str]], Node, str]


@pytest.fixture
def api(tmp_path: Path, store_for: StoreFor) -> Iterator[Api]:
    dirs = build(
        tmp_path,
        [
            NodeSpec("interpol", "Interpol", units=[("cc", False, None), ("fin", False, None)]),
            NodeSpec("europol", "Europol", units=[("ops", False, None)]),
        ],
        [LinkSpec("interpol", "europol")],
        store=store_for,
    )
    node = Node(dirs["interpol"])
    people = {
        "alice": ("cc", "officer"),
        "bob": ("fin", "officer"),
        "root": ("cc", "admin"),
        "dora": ("fin", "dpo"),
        "nat": ("cc", "system"),
    }
    auth = {}
    for name, (unit, role) in people.items():
        node.accounts.add_user("test", name, unit, role, "correct horse battery")
        auth[name] = {"Authorization": f"Bearer {node.accounts.create_token('test', name)}"}
    with TestClient(create_app(node.api_services())) as client:
        sent = client.post(
            "/api/v1/messages",
            json=draft(random.Random(3), "ops@europol", "cyber-crime", "t"),
            headers=auth["alice"],
        )
        assert sent.status_code == 201, sent.text
        message_id = sent.json()["id"]
        with node.db.read() as conn:
            item = retention_store.get_item(conn, message_id)
        assert item is not None, "the sample carries personal data, so it has a review date"
        soon = datetime.combine(item.review_date - timedelta(days=10), datetime.min.time(), UTC)
        assert node.retention.run(soon).queued == [message_id]
        yield client, auth, node, message_id
    node.db.dispose()


def _refusals(node: Node) -> list[tuple[str, str, str]]:
    with node.db.read() as conn:
        rows = conn.execute(
            select(
                audit_records.c.actor, audit_records.c.object, audit_records.c.detail_json
            ).where(
                audit_records.c.action == "policy.decision", audit_records.c.outcome == "refused"
            )
        ).all()
    return [(r.actor, r.object, r.detail_json) for r in rows]


def test_another_units_officer_neither_sees_nor_decides(api: Api) -> None:
    client, auth, node, message_id = api
    assert client.get("/api/v1/review", headers=auth["bob"]).json() == []
    keep = client.post(
        f"/api/v1/review/{message_id}/keep",
        json={"until": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(), "reason": "x"},
        headers=auth["bob"],
    )
    purge = client.post(
        f"/api/v1/review/{message_id}/purge", json={"reason": "x"}, headers=auth["bob"]
    )
    for answer in (keep, purge):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "not_holding_unit"
    refusals = _refusals(node)
    assert [(a, s) for a, s, _ in refusals] == [("bob", message_id), ("bob", message_id)]
    assert all("not_holding_unit" in d for _, _, d in refusals)
    with node.db.read() as conn:
        item = retention_store.get_item(conn, message_id)
    assert item is not None
    assert item.state == "due"  # nothing changed


def test_an_unknown_id_is_refused_like_another_units(api: Api) -> None:
    client, auth, _, _ = api
    answer = client.post(
        "/api/v1/review/msg-000000000000000000000000/purge",
        json={"reason": "x"},
        headers=auth["bob"],
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "not_holding_unit"


@pytest.mark.parametrize("who", ["root", "nat"])
def test_roles_that_never_review_are_refused_and_audited(api: Api, who: str) -> None:
    client, auth, node, message_id = api
    answer = client.get("/api/v1/review", headers=auth[who])
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "review_not_permitted"
    purge = client.post(
        f"/api/v1/review/{message_id}/purge", json={"reason": "x"}, headers=auth[who]
    )
    assert purge.json()["error"]["code"] == "review_not_permitted"
    assert [(a, s) for a, s, _ in _refusals(node)] == [(who, "review-queue"), (who, message_id)]


def test_the_holding_units_officer_and_the_dpo_review(api: Api) -> None:
    client, auth, _, message_id = api
    for who in ("alice", "dora"):
        queue = client.get("/api/v1/review", headers=auth[who]).json()
        assert [i["message_id"] for i in queue] == [message_id]
    until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    keep = client.post(
        f"/api/v1/review/{message_id}/keep",
        json={"until": until, "reason": "investigation open"},
        headers=auth["alice"],
    )
    assert keep.status_code == 204, keep.text
    purge = client.post(
        f"/api/v1/review/{message_id}/purge", json={"reason": "closed"}, headers=auth["dora"]
    )
    assert purge.status_code == 204, purge.text


def test_the_service_the_cli_calls_applies_the_same_rule(api: Api) -> None:
    _, _, node, message_id = api
    other = Principal("u", "cli:fin", "fin", Role.OFFICER)
    assert node.retention.queue(other) == []
    with pytest.raises(Forbidden, match="does not hold") as refused:
        node.retention.purge(other, message_id, "x")
    assert refused.value.code == "not_holding_unit"
    admin = Principal("cli", "cli", "", Role.ADMIN)
    with pytest.raises(Forbidden) as refused:
        node.retention.queue(admin)
    assert refused.value.code == "review_not_permitted"
    holder = Principal("u", "cli:cc", "cc", Role.OFFICER)
    assert [i.message_id for i in node.retention.queue(holder)] == [message_id]
