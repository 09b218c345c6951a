"""API tokens: listed without their secrets, revoked at once, audited (CLI, service, API)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.services.errors import Conflict, NotAuthenticated, NotFoundError
from tests.integration.support import unstarted_interpol

runner = CliRunner()


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    node = unstarted_interpol(tmp_path)
    # the commands act on this node (a second Node per command would leave its pool open)
    monkeypatch.setattr(common, "node_at", lambda directory: node)
    node.accounts.add_user("test", "alice", "cc", "officer", "correct horse battery")
    yield node
    node.db.dispose()


def test_a_revoked_token_is_refused_at_once_and_the_others_still_work(node: Node) -> None:
    kept = node.accounts.create_token("test", "alice", label="desk")
    revoked = node.accounts.create_token("test", "alice", label="script")
    with TestClient(create_app(node.api_services())) as client:

        def inbox(token: str) -> int:
            return client.get(
                "/api/v1/inbox", headers={"Authorization": f"Bearer {token}"}
            ).status_code

        assert (inbox(kept), inbox(revoked)) == (200, 200)
        by_label = {t.label: t for t in node.accounts.tokens("alice")}
        node.accounts.revoke_token("root", by_label["script"].id)
        assert (inbox(kept), inbox(revoked)) == (200, 401)
    with pytest.raises(NotAuthenticated, match="unknown or revoked"):
        node.accounts.authenticate_token(revoked)
    assert node.accounts.authenticate_token(kept).username == "alice"

    listed = {t.label: t for t in node.accounts.tokens("alice")}
    revoked_at = listed["script"].revoked_at
    assert revoked_at is not None
    assert revoked_at.utcoffset() == timedelta(0)  # UTC on both engines
    assert listed["script"].created_at <= revoked_at
    assert listed["desk"].revoked_at is None
    [record] = [
        r for r in node.audit.records() if r.action == "token.changed" and r.outcome == "revoked"
    ]
    assert (record.actor, record.object) == ("root", "alice")
    assert record.detail == {"token_id": by_label["script"].id}


def test_revoking_twice_or_an_unknown_token_names_it_and_changes_nothing(node: Node) -> None:
    node.accounts.create_token("test", "alice")
    [token] = node.accounts.tokens("alice")
    assert token.revoked_at is None
    node.accounts.revoke_token("root", token.id)
    head = max(r.seq for r in node.audit.records())
    with pytest.raises(Conflict, match=f"{token.id}.*already revoked"):
        node.accounts.revoke_token("root", token.id)
    with pytest.raises(NotFoundError, match="'0123456789abcdef' does not exist"):
        node.accounts.revoke_token("root", "0123456789abcdef")
    with pytest.raises(NotFoundError, match="user 'mallory' does not exist"):
        node.accounts.tokens("mallory")
    assert max(r.seq for r in node.audit.records()) == head  # nothing recorded for them
    [after] = node.accounts.tokens("alice")
    assert after.revoked_at is not None


def test_the_cli_lists_tokens_without_secrets_and_revokes_one(node: Node) -> None:
    where = str(node.layout.root)
    made = runner.invoke(app, ["user", "token", "alice", "--dir", where, "--label", "script"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip()
    assert secret.startswith("slt_")

    listed = runner.invoke(app, ["user", "tokens", "alice", "--dir", where])
    assert listed.exit_code == 0, listed.output
    [token] = node.accounts.tokens("alice")
    assert token.id in listed.output
    assert "script" in listed.output
    assert secret not in listed.output

    revoked = runner.invoke(app, ["user", "revoke-token", token.id, "--dir", where])
    assert revoked.exit_code == 0, revoked.output
    assert f"token {token.id} of alice revoked" in revoked.output
    with pytest.raises(NotAuthenticated):
        node.accounts.authenticate_token(secret)

    again = runner.invoke(app, ["user", "revoke-token", token.id, "--dir", where])
    assert isinstance(again.exception, Conflict)
