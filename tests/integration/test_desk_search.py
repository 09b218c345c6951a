"""Search (issue 15) over real HTTP on a running pair: the desk's page and the API's
``GET /api/v1/search``, finding only what the searching unit may read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from secureline.node.compose import Node
from tests.integration.support import Federation, officer, sample, wait_for, wait_state
from tests.support.desk import client, close_clients, desk_user, sign_in


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


def _desk(node: Node, unit: str, name: str, role: str = "officer") -> httpx.Client:
    key = desk_user(node, unit, name, role)
    browser = client(node)
    assert sign_in(browser, name, key).status_code == 303
    return browser


def _with_person(name: str, **overrides: Any) -> dict[str, Any]:
    draft = sample("ops@europol", **overrides)
    draft["entities"] = [
        {"id": "person-1", "schema": "Person", "properties": {"name": [name]}},
    ]
    draft["data_subjects"] = ["suspect"]
    return draft


def _send(pair: Federation, draft: dict[str, Any]) -> str:
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(officer(interpol), draft)
    wait_state(interpol, sent.id, "europol", ["delivered", "read"])
    return sent.id


def test_the_desk_finds_a_message_by_an_entity_name_for_its_unit_only(pair: Federation) -> None:
    europol = pair["europol"]
    message_id = _send(pair, _with_person("Ingrid Vasquez-Halloran"))
    ops = _desk(europol, "ops", "ops-search")
    page = ops.get("/desk/search", params={"q": "vasquez hallor"})
    assert page.status_code == 200
    assert f"/desk/messages/{message_id}" in page.text
    assert "1 found" in page.text
    by_field = ops.get(
        "/desk/search", params={"sender": "cc@interpol", "crime_area": "cyber-crime"}
    )
    assert f"/desk/messages/{message_id}" in by_field.text
    europol.accounts.add_unit("test", "other")
    other = _desk(europol, "other", "other-search")
    refused = other.get("/desk/search", params={"q": "vasquez"})
    assert refused.status_code == 200
    assert message_id not in refused.text
    assert "0 found" in refused.text
    # the sender's unit finds what it sent
    cc = _desk(pair["interpol"], "cc", "cc-search")
    assert message_id in cc.get("/desk/search", params={"q": "ingrid"}).text


def test_an_h3_message_is_not_found_by_its_content(pair: Federation) -> None:
    draft = _with_person("Oskar Quellmalz", handling="H3", handling_conditions="case 9 only")
    message_id = _send(pair, draft)
    ops = _desk(pair["europol"], "ops", "ops-h3")
    assert message_id not in ops.get("/desk/search", params={"q": "quellmalz"}).text
    assert message_id in ops.get("/desk/search", params={"handling": "H3"}).text


def test_a_retracted_message_is_gone_from_the_results(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    message_id = _send(pair, _with_person("Tamsin Oyelaran"))
    ops = _desk(europol, "ops", "ops-retract")
    assert message_id in ops.get("/desk/search", params={"q": "oyelaran"}).text
    interpol.sharing.retract(officer(interpol), message_id, "sent in error")
    wait_for(
        lambda: message_id not in ops.get("/desk/search", params={"q": "oyelaran"}).text,
        what="the retracted message leaving the index",
    )


def test_script_in_a_subject_is_shown_as_text_in_the_results(pair: Federation) -> None:
    attack = "<script>alert('x')</script> Zebulon"
    message_id = _send(pair, _with_person("Zebulon Ferreira", subject=attack))
    ops = _desk(pair["europol"], "ops", "ops-script")
    page = ops.get("/desk/search", params={"q": "zebulon"})
    assert message_id in page.text
    assert attack not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text


def test_a_bad_field_is_said_on_the_form(pair: Federation) -> None:
    ops = _desk(pair["europol"], "ops", "ops-bad")
    page = ops.get("/desk/search", params={"q": "x", "since": "yesterday"})
    assert page.status_code == 422
    assert "YYYY-MM-DD" in page.text
    assert ops.get("/desk/search", params={"handling": "H9"}).status_code == 422


def test_the_search_page_needs_a_session(pair: Federation) -> None:
    answer = client(pair["europol"]).get("/desk/search", params={"q": "x"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/desk/sign-in")


def test_the_api_finds_the_same_as_the_desk(pair: Federation) -> None:
    europol = pair["europol"]
    message_id = _send(pair, _with_person("Philippa Nakashima"))
    europol.accounts.add_user("test", "ops-api", "ops", "system", "a long enough password")
    token = europol.accounts.create_token("test", "ops-api")
    api = client(europol, headers={"Authorization": f"Bearer {token}"})
    found = api.get("/api/v1/search", params={"q": "nakashima"})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["total"] == 1
    assert [i["id"] for i in body["items"]] == [message_id]
    assert body["items"][0]["direction"] == "in"
    assert api.get("/api/v1/search", params={"handling": "H9"}).status_code == 422
    assert client(europol).get("/api/v1/search").status_code == 401
