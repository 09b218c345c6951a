"""Every documented refusal code a national system can meet through the REST API, reached
through the API of a real node (issue #13, section 1 item 4).

Submission (``POST /api/v1/messages``) is decided at SUBMIT with the link's agreement, changed
before the node is built so that each test reaches one rule; forwarding
(``POST /api/v1/messages/{id}/forward``) is tried on a message a real line delivered.
Each test asserts the exact code and that nothing was queued or stored for the refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from secureline.cli.federation import LinkSpec
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.store import tables
from tests.integration.support import (
    PAIR,
    SPECS,
    Federation,
    count_rows,
    officer,
    sample,
    seed_with_a_person,
    set_agreement_terms,
    stored_counts,
    wait_state,
)


@contextmanager
def _client(node: Node, unit: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The node's API with a fresh officer of ``unit`` and its Bearer header."""
    node.accounts.add_user("test", "alice", unit, "officer", "correct horse battery")
    token = node.accounts.create_token("test", "alice")
    with TestClient(create_app(node.api_services())) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _narrowed_interpol(factory: Callable[..., Federation], **terms: str) -> Node:
    """interpol (not started: no line traffic is needed) whose agreement with europol has
    ``terms`` (TOML literals) in place of the generated ones."""
    fed = factory(PAIR, start=())
    set_agreement_terms(fed, "interpol", "europol", **terms)
    return fed.construct("interpol")


def _reason_codes(answer: Any) -> list[str]:
    assert answer.status_code == 403, answer.text
    body = answer.json()["error"]
    assert body["code"] == "refused"
    return [r["code"] for r in body["reasons"]]


# --- submission: the rules of sharing at SUBMIT ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "terms", "change"),
    [
        ("kind_not_allowed", {"kinds": '["request"]'}, {}),
        ("classification_above_ceiling", {}, {"classification": "confidential"}),
        ("confidentiality_required", {"confidentiality": '"required"'}, {}),
        ("purpose_not_allowed", {"purposes": '["counter terrorism only"]'}, {}),
        ("personal_data_not_allowed", {"personal_data": "false", "data_subjects": "[]"}, {}),
        # The default review date keeps within the agreement (messaging._default_review_date):
        # the officer names a later one.
        (
            "retention_exceeds_agreement",
            {"retention_max_days": "30"},
            {"review_date": (datetime.now(UTC) + timedelta(days=365)).date().isoformat()},
        ),
    ],
)
def test_submission_refused_by_a_rule(
    federation_factory: Callable[..., Federation],
    code: str,
    terms: dict[str, str],
    change: dict[str, Any],
) -> None:
    node = _narrowed_interpol(federation_factory, **terms)
    before = stored_counts(node)
    with _client(node, "cc") as (client, auth):
        answer = client.post(
            "/api/v1/messages",
            json=sample("ops@europol", seed=seed_with_a_person()) | change,
            headers=auth,
        )
    assert _reason_codes(answer) == [code]
    assert stored_counts(node) == before


def test_submission_over_a_link_without_agreement_is_no_agreement(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    (fed.dirs["interpol"] / "agreements" / "europol.toml").unlink()
    node = fed.construct("interpol")
    before = stored_counts(node)
    with _client(node, "cc") as (client, auth):
        answer = client.post("/api/v1/messages", json=sample("ops@europol", seed=5), headers=auth)
    assert _reason_codes(answer) == ["no_agreement"]
    assert stored_counts(node) == before


def test_submission_to_a_node_without_route_is_no_route(
    federation_factory: Callable[..., Federation],
) -> None:
    node = federation_factory(PAIR, start=()).construct("interpol")
    before = stored_counts(node)
    with _client(node, "cc") as (client, auth):
        answer = client.post(
            "/api/v1/messages", json=sample("ncb@ncb-madrid", seed=3), headers=auth
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "no_route"
    assert stored_counts(node) == before


# --- forwarding a message the line delivered ------------------------------------------------


def _delivered_at_interpol(fed: Federation) -> str:
    """A message from ncb-madrid, delivered to interpol's unit cc over the real line."""
    madrid = fed["ncb-madrid"]
    sent = madrid.messaging.submit(officer(madrid), sample("cc@interpol", seed=17))
    wait_state(madrid, sent.id, "interpol", ["delivered"])
    return sent.id


def _chain(onward_transfer: str) -> tuple[list[Any], list[LinkSpec]]:
    return (
        [SPECS["ncb-madrid"], SPECS["interpol"], SPECS["europol"]],
        [
            LinkSpec("ncb-madrid", "interpol"),
            LinkSpec("interpol", "europol", onward_transfer=onward_transfer),
        ],
    )


@pytest.mark.parametrize(
    ("onward", "purpose", "code"),
    [
        ("never", None, "onward_transfer_forbidden"),
        ("allowed", "an investigation of another kind", "other_purpose_without_permission"),
    ],
)
def test_forwarding_refused_by_a_rule(
    federation_factory: Callable[..., Federation], onward: str, purpose: str | None, code: str
) -> None:
    fed = federation_factory(_chain(onward), start=("ncb-madrid", "interpol"))
    original = _delivered_at_interpol(fed)
    interpol = fed["interpol"]
    before = stored_counts(interpol)
    with _client(interpol, "cc") as (client, auth):
        answer = client.post(
            f"/api/v1/messages/{original}/forward",
            json={"to": ["ops@europol"], "purpose": purpose},
            headers=auth,
        )
    assert _reason_codes(answer) == [code]
    assert stored_counts(interpol) == before
    assert (
        count_rows(interpol, tables.deliveries, tables.deliveries.c.destination == "europol") == 0
    )
