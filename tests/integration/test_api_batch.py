"""Batch submission through the API (issue 20, item 2 and "Bad input"): one request, many
drafts, each answered on its own in the order given; a batch that cannot be read as one is
refused whole and stores nothing."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from secureline.domain.audit import AuditAction
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.store.audit import audit_records
from secureline.store.messages import count_messages
from tests.integration.support import PAIR, Federation, sample, wait_for, wait_state

Api = tuple[TestClient, dict[str, str], Node]
URL = "/api/v1/messages/batch"
MAX_BATCH = 5
MAX_BODY = 256 * 1024


def _token(node: Node) -> str:
    node.accounts.add_user("test", "nat", "cc", "system", "correct horse battery")
    return node.accounts.create_token("test", "nat")


@pytest.fixture
def api(federation_factory: Callable[..., Federation]) -> Iterator[Api]:
    """interpol's API in process (not started: nothing leaves), with small bounds."""
    node = federation_factory(PAIR, start=()).construct("interpol")
    auth = {"Authorization": f"Bearer {_token(node)}"}
    services = node.api_services().model_copy(
        update={"max_batch": MAX_BATCH, "max_body_bytes": MAX_BODY}
    )
    with TestClient(create_app(services)) as client:
        yield client, auth, node


def _ok(seed: int, **change: Any) -> dict[str, Any]:
    return sample("ops@europol", "maritime-piracy", seed=seed, **change)


def _refused(seed: int) -> dict[str, Any]:
    """Refused by the rules: the link's agreement does not cover environmental crime."""
    return sample("ops@europol", "environmental-crime", seed=seed)


def _stored(node: Node) -> int:
    return count_messages(node.db, "out")


def _error(answer: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error


# --- what a batch answers ------------------------------------------------------------------


def test_each_draft_is_answered_in_order_and_a_refusal_sinks_no_other(api: Api) -> None:
    client, auth, node = api
    here = sample("cc@interpol", "maritime-piracy", seed=6)  # this node itself: not composed
    drafts = [_ok(1), _refused(2), _ok(3), sample("ops@nowhere", seed=4), here]
    answer = client.post(URL, json=drafts, headers=auth)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, "accepted"),
        (1, "refused"),
        (2, "accepted"),
        (3, "refused"),
        (4, "refused"),
    ]
    for accepted in (results[0], results[2]):
        assert accepted["error"] is None
        assert accepted["message"]["destinations"] == ["europol"]
        assert accepted["message"]["held_for_review"] is False
    rules, route = results[1]["error"], results[3]["error"]
    assert results[1]["message"] is None
    assert rules["code"] == "refused"
    assert [r["code"] for r in rules["reasons"]] == ["crime_area_not_allowed"]
    assert route["code"] == "no_route"
    assert "nowhere" in route["message"]
    assert (results[4]["error"]["code"], results[4]["error"]["field"]) == ("invalid_input", "to")
    assert _stored(node) == 2
    for accepted in (results[0], results[2]):
        status = client.get(f"/api/v1/messages/{accepted['message']['id']}/status", headers=auth)
        assert [d["state"] for d in status.json()["deliveries"]] == ["queued"]
    with node.db.read() as conn:
        refusals = conn.execute(
            select(audit_records.c.actor).where(
                audit_records.c.action == AuditAction.MESSAGE_REFUSED.value
            )
        ).all()
    assert [r.actor for r in refusals] == ["nat"]  # one record, for the one the rules refused


def test_an_alert_in_a_batch_is_held_for_review(api: Api) -> None:
    client, auth, _ = api
    alert = _ok(5, kind="alert", alert="blue")
    results = client.post(URL, json=[alert], headers=auth).json()["results"]
    assert results[0]["message"]["held_for_review"] is True


def test_an_empty_batch_answers_no_results(api: Api) -> None:
    client, auth, node = api
    assert client.post(URL, json=[], headers=auth).json() == {"results": []}
    assert _stored(node) == 0


# --- idempotency, per draft ---------------------------------------------------------------


def test_a_retried_batch_returns_the_first_results_and_sends_only_the_new(api: Api) -> None:
    client, auth, node = api
    a, b, c = _ok(11), _ok(12), _ok(13)
    first = client.post(
        URL,
        json=[a | {"idempotency_key": "a"}, b | {"idempotency_key": "b"}, c],
        headers=auth,
    ).json()["results"]
    again = client.post(
        URL, json=[b | {"idempotency_key": "b"}, a | {"idempotency_key": "a"}], headers=auth
    ).json()["results"]
    assert again[0]["message"] == first[1]["message"]
    assert again[1]["message"] == first[0]["message"]
    assert _stored(node) == 3


def test_a_key_is_the_same_key_in_a_batch_and_in_the_header(api: Api) -> None:
    client, auth, node = api
    draft = _ok(14)
    single = client.post("/api/v1/messages", json=draft, headers=auth | {"Idempotency-Key": "k"})
    assert single.status_code == 201, single.text
    results = client.post(URL, json=[draft | {"idempotency_key": "k"}], headers=auth)
    assert results.json()["results"][0]["message"] == single.json()
    assert _stored(node) == 1


def test_a_key_reused_for_another_draft_refuses_that_draft_only(api: Api) -> None:
    client, auth, node = api
    client.post(URL, json=[_ok(15) | {"idempotency_key": "k"}], headers=auth)
    results = client.post(
        URL, json=[_ok(16) | {"idempotency_key": "k"}, _ok(17)], headers=auth
    ).json()["results"]
    assert results[0]["status"] == "refused"
    assert results[0]["error"]["code"] == "idempotency_key_reused"
    assert results[1]["status"] == "accepted"
    assert _stored(node) == 2


def test_two_drafts_with_one_key_are_refused_whole(api: Api) -> None:
    client, auth, node = api
    drafts = [_ok(18) | {"idempotency_key": "same"}, _ok(19) | {"idempotency_key": "same"}]
    answer = client.post(URL, json=drafts, headers=auth)
    _error(answer, 422, "duplicate_idempotency_key", "body[1].idempotency_key")
    assert _stored(node) == 0


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\tkey", "é"])
def test_a_key_out_of_the_headers_bounds_is_refused(api: Api, key: str) -> None:
    client, auth, node = api
    answer = client.post(URL, json=[_ok(20), _ok(21) | {"idempotency_key": key}], headers=auth)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "body[1].idempotency_key"
    assert _stored(node) == 0


# --- bad input: refused whole, nothing stored ----------------------------------------------


@pytest.mark.parametrize("body", [_ok(30), "drafts", 7, None])
def test_a_body_that_is_not_an_array_is_refused(api: Api, body: Any) -> None:
    client, auth, node = api
    _error(client.post(URL, json=body, headers=auth), 422, "invalid_input", "body")
    assert _stored(node) == 0


@pytest.mark.parametrize("item", [5, "draft", [], None])
def test_an_item_that_is_not_an_object_is_named_by_its_index(api: Api, item: Any) -> None:
    client, auth, node = api
    answer = client.post(URL, json=[_ok(31), _ok(32), item], headers=auth)
    _error(answer, 422, "invalid_input", "body[2]")
    assert _stored(node) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": 7}, "body[3].subject"),
        ({"crime_area": "jaywalking"}, "body[3].crime_area"),
        ({"handling": "H3"}, "body[3].handling_conditions"),  # a rule of the whole draft
        ({"colour": "red"}, "body[3].colour"),
    ],
)
def test_a_malformed_draft_names_its_index_and_field_and_nothing_is_stored(
    api: Api, change: dict[str, Any], field: str
) -> None:
    client, auth, node = api
    drafts = [_ok(33), _ok(34), _ok(35), _ok(36) | change]
    answer = client.post(URL, json=drafts, headers=auth)
    _error(answer, 422, "invalid_input", field)
    assert field in answer.json()["error"]["message"]
    assert _stored(node) == 0


def test_an_unsafe_attachment_name_in_a_batch_is_refused_at_the_edge(api: Api) -> None:
    client, auth, node = api
    attachment = {"name": "../../etc/passwd", "media_type": "text/plain", "size": 1}
    attachment["sha256"] = "0" * 64
    drafts = [_ok(37), _ok(38) | {"attachments": [attachment]}]
    answer = client.post(URL, json=drafts, headers=auth)
    _error(answer, 422, "unsafe_attachment_name", "body[1].attachments[0].name")
    assert _stored(node) == 0


def test_a_batch_longer_than_max_batch_is_refused_before_its_drafts_are_read(api: Api) -> None:
    client, auth, node = api
    too_many = [_ok(40 + n) for n in range(MAX_BATCH)] + [{"not": "a draft"}]
    answer = client.post(URL, json=too_many, headers=auth)
    _error(answer, 422, "batch_too_long", "body")
    assert f"at most {MAX_BATCH}" in answer.json()["error"]["message"]
    assert _stored(node) == 0


def test_a_batch_over_the_body_limit_is_refused_with_413(api: Api) -> None:
    client, auth, node = api
    big = [_ok(50, body="x" * (MAX_BODY // 2)), _ok(51, body="y" * (MAX_BODY // 2))]
    _error(client.post(URL, json=big, headers=auth), 413, "body_too_large", None)
    assert _stored(node) == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_on_the_path_are_405_in_the_one_shape(api: Api, method: str) -> None:
    client, auth, _ = api
    answer = client.request(method, URL, headers=auth)
    _error(answer, 405, "method_not_allowed", None)
    assert answer.headers["allow"] == "POST"


def test_a_role_that_may_not_send_is_refused_whole(api: Api) -> None:
    client, _, node = api
    node.accounts.add_user("test", "dora", "cc", "dpo", "correct horse battery")
    dpo = {"Authorization": f"Bearer {node.accounts.create_token('test', 'dora')}"}
    _error(client.post(URL, json=[_ok(53)], headers=dpo), 403, "forbidden", None)
    assert _stored(node) == 0


def test_the_path_needs_a_token(api: Api) -> None:
    client, _, _ = api
    _error(client.post(URL, json=[_ok(52)]), 401, "not_authenticated", None)


# --- over real sockets, against a running node ---------------------------------------------


def test_a_client_gone_mid_body_stores_nothing_and_the_node_serves_on(pair: Federation) -> None:
    interpol = pair["interpol"]
    token = _token(interpol)
    body = orjson.dumps([_ok(60), _ok(61), _ok(62)])
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    for cut in (len(body) // 3, len(body) - 1):  # a third of the way, and one byte short
        with socket.create_connection(("127.0.0.1", interpol.api_port), timeout=10) as raw:
            raw.sendall(head + body[:cut])
    conn = http.client.HTTPConnection("127.0.0.1", interpol.api_port, timeout=30)
    conn.request(
        "POST",
        URL,
        orjson.dumps([_ok(63)]),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()
    (only,) = orjson.loads(answer.read())["results"]
    conn.close()
    # the two cut batches never reached a route: only the one sent whole is stored
    assert count_messages(interpol.db, "out") == 1
    assert only["status"] == "accepted"


def test_a_batch_is_delivered_across_the_line(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    auth = {"Authorization": f"Bearer {_token(interpol)}"}
    drafts = [_ok(70), _refused(71), _ok(72), _ok(73)]
    answer = httpx.post(
        f"http://127.0.0.1:{interpol.api_port}{URL}", json=drafts, headers=auth, timeout=30
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    accepted = [r["message"]["id"] for r in results if r["status"] == "accepted"]
    assert len(accepted) == 3
    for message_id in accepted:
        wait_state(interpol, message_id, "europol", ["delivered"])
    wait_for(lambda: count_messages(europol.db, "in") == 3, what="europol to hold the three")
