"""The REST API over a real node store (FastAPI's test client; no line traffic needed)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from secureline.cli.samples import draft
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from tests.integration.support import unstarted_interpol


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, str, Node]]:
    node = unstarted_interpol(tmp_path)
    node.accounts.add_user("test", "alice", "cc", "officer", "correct horse battery")
    token = node.accounts.create_token("test", "alice")
    with TestClient(create_app(node.api_services())) as client:
        yield client, token, node
    node.db.dispose()


def test_a_wrong_token_is_refused_with_401(api: tuple[TestClient, str, Node]) -> None:
    client, _, _ = api
    answer = client.get("/api/v1/inbox", headers={"Authorization": "Bearer slt_forged"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


def test_no_token_is_refused_with_401(api: tuple[TestClient, str, Node]) -> None:
    client, _, _ = api
    assert client.get("/api/v1/inbox").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"crime_area": "jaywalking"}, "crime_area"),
        ({"handling": "H3"}, "handling_conditions"),
        ({"evaluation": "Z9"}, "evaluation"),
        ({"to": ["nobody"]}, "to"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    api: tuple[TestClient, str, Node], change: dict[str, object], field: str
) -> None:
    client, token, node = api
    import random

    message = draft(random.Random(1), "ops@europol", "cyber-crime", "t") | change
    answer = client.post(
        "/api/v1/messages", json=message, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422
    assert field in answer.json()["error"]["message"]
    from secureline.store.messages import count_messages

    assert count_messages(node.db, "out") == 0


def test_an_unknown_entity_property_is_refused(api: tuple[TestClient, str, Node]) -> None:
    client, token, _ = api
    import random

    message = draft(random.Random(1), "ops@europol", "cyber-crime", "t")
    message["entities"][0]["properties"]["shoeSize"] = ["44"]
    answer = client.post(
        "/api/v1/messages", json=message, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422
    assert "shoeSize" in answer.json()["error"]["message"]


def test_submit_then_status_shows_it_queued(api: tuple[TestClient, str, Node]) -> None:
    client, token, _ = api
    import random

    auth = {"Authorization": f"Bearer {token}"}
    message = draft(random.Random(1), "ops@europol", "maritime-piracy", "t")
    created = client.post("/api/v1/messages", json=message, headers=auth)
    assert created.status_code == 201, created.text
    status = client.get(f"/api/v1/messages/{created.json()['id']}/status", headers=auth).json()
    assert [d["state"] for d in status["deliveries"]] == ["queued"]


def test_a_refusal_by_the_rules_comes_back_at_once_with_reasons(
    api: tuple[TestClient, str, Node],
) -> None:
    client, token, node = api
    import random

    message = draft(random.Random(1), "ops@europol", "environmental-crime", "t")
    answer = client.post(
        "/api/v1/messages", json=message, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["reasons"][0]["code"] == "crime_area_not_allowed"
    from secureline.store.messages import count_messages

    assert count_messages(node.db, "out") == 0


def test_healthz_needs_no_token(api: tuple[TestClient, str, Node]) -> None:
    client, _, _ = api
    assert client.get("/healthz").json() == {"status": "ok", "node": "interpol"}
