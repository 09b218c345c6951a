"""People, not processes (issue 13, section 4): an officer logs in with a password, and what
they do from the command line is audited under their name; sessions expire, end at logout,
and stop at once when the user is disabled (also over the API)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner, Result

from secureline.cli import common
from secureline.cli.main import app
from secureline.domain.audit import AuditRecord
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.services.errors import NotAuthenticated
from secureline.store.sessions import sessions
from tests.integration.support import (
    CLI_PASSWORD,
    Federation,
    log_in,
    unstarted_interpol,
    wait_state,
)

runner = CliRunner()
SEND = ["--kind", "information", "--area", "cyber-crime", "--handling", "H0", "--subject", "s"]


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    node = unstarted_interpol(tmp_path)
    # the commands act on this node (a second Node per command would leave its pool open)
    monkeypatch.setattr(common, "node_at", lambda directory: node)
    monkeypatch.setattr(common.err, "width", 300)  # one line per error, whole
    node.accounts.add_user("test", "alice", "cc", "officer", CLI_PASSWORD)
    yield node
    node.db.dispose()


def _login(user: str = "alice", password: str = CLI_PASSWORD) -> Result:
    return runner.invoke(
        app, ["login", "--user", user, "--dir", "here"], env={"SECURELINE_PASSWORD": password}
    )


def _secret(session_dir: Path) -> str:
    return (session_dir / "interpol.session").read_text(encoding="utf-8").strip()


def _records(node: Node, action: str) -> list[AuditRecord]:
    return [r for r in node.audit.records() if r.action == action]


def test_a_wrong_password_is_refused_and_audited(node: Node, session_dir: Path) -> None:
    done = runner.invoke(
        app,
        ["login", "--user", "alice", "--dir", "here"],
        env={"SECURELINE_PASSWORD": "not the password at all"},
    )
    assert done.exit_code == 1
    assert "unknown user or wrong password" in done.output
    [failure] = [r for r in node.audit.records() if r.action == "login.failure"]
    assert (failure.actor, failure.object, failure.outcome) == ("alice", "alice", "refused")
    assert not (session_dir / "interpol.session").exists()


def test_without_a_terminal_or_a_password_the_variable_is_named(node: Node) -> None:
    # CliRunner's stdin is not a terminal, as in a script or a pipe
    done = runner.invoke(app, ["login", "--user", "alice", "--dir", "here"])
    assert done.exit_code == 1
    assert "no terminal to ask for the password" in done.output
    assert "SECURELINE_PASSWORD" in done.output


def test_the_session_file_is_private_and_whoami_names_the_person(
    node: Node, session_dir: Path
) -> None:
    done = _login()
    assert done.exit_code == 0, done.output
    assert "logged in to interpol as alice (officer, unit cc)" in done.output
    assert stat.S_IMODE(session_dir.stat().st_mode) == 0o700
    file = session_dir / "interpol.session"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    secret = file.read_text(encoding="utf-8").strip()
    assert secret.startswith("sls_")
    assert not list(session_dir.glob("*.partial"))  # written atomically, nothing left over

    shown = runner.invoke(app, ["whoami", "--dir", "here", "--json"])
    assert shown.exit_code == 0, shown.output
    who = json.loads(shown.output)
    assert (who["user"], who["unit"], who["role"], who["by"]) == (
        "alice",
        "cc",
        "officer",
        "session",
    )
    assert who["expires_at"]

    # a session file others can read is refused (someone may have copied the secret)
    file.chmod(0o644)
    exposed = runner.invoke(app, ["whoami", "--dir", "here"])
    assert exposed.exit_code == 1
    assert "readable by others" in exposed.output


def test_not_logged_in_is_refused_saying_how_to_log_in(node: Node) -> None:
    done = runner.invoke(app, ["send", "--dir", "here", "--to", "ops@europol", *SEND])
    assert done.exit_code == 1
    assert "not logged in to interpol: secureline login --user NAME --dir DIR" in done.output
    assert _records(node, "message.created") == []


def test_an_expired_session_is_refused(node: Node, session_dir: Path) -> None:
    assert _login().exit_code == 0
    with node.db.transaction() as conn:
        conn.execute(update(sessions).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    done = runner.invoke(app, ["send", "--dir", "here", "--to", "ops@europol", *SEND])
    assert done.exit_code == 1
    assert "the session expired at" in done.output
    assert "log in again: secureline login" in done.output
    assert _records(node, "message.created") == []
    with pytest.raises(NotAuthenticated) as refused:
        node.sessions.authenticate(_secret(session_dir))
    assert refused.value.code == "session_expired"


def test_logout_ends_the_session_for_every_process(node: Node, session_dir: Path) -> None:
    assert _login().exit_code == 0
    secret = (session_dir / "interpol.session").read_text(encoding="utf-8").strip()
    done = runner.invoke(app, ["logout", "--dir", "here"])
    assert done.exit_code == 0, done.output
    assert "alice logged out of interpol" in done.output
    assert not (session_dir / "interpol.session").exists()
    # a copy of the file is worth nothing now: the database says the session ended
    (session_dir / "interpol.session").write_text(secret + "\n", encoding="utf-8")
    (session_dir / "interpol.session").chmod(0o600)
    again = runner.invoke(app, ["whoami", "--dir", "here"])
    assert again.exit_code == 1
    assert "the session was ended (logout)" in again.output
    with pytest.raises(NotAuthenticated) as refused:
        node.sessions.authenticate(secret)
    assert refused.value.code == "session_ended"
    with pytest.raises(NotAuthenticated) as unknown:
        node.sessions.authenticate("sls_" + "A" * 43)  # made up, or another node's
    assert unknown.value.code == "session_unknown"
    [ended] = _records(node, "session.ended")
    assert (ended.actor, ended.object, ended.outcome) == ("alice", "alice", "logout")


def test_a_token_acts_for_a_script_and_a_wrong_unit_is_refused(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECURELINE_TOKEN", node.accounts.create_token("test", "alice"))
    shown = runner.invoke(app, ["whoami", "--dir", "here"])
    assert shown.exit_code == 0, shown.output
    assert "alice, officer of cc@interpol; API token (SECURELINE_TOKEN)" in shown.output
    other = runner.invoke(
        app, ["send", "--dir", "here", "--from", "ncb", "--to", "ops@europol", *SEND]
    )
    assert other.exit_code == 1
    assert "--from ncb: alice acts for unit cc, not ncb" in other.output
    sent = runner.invoke(app, ["send", "--dir", "here", "--to", "ops@europol", *SEND])
    assert sent.exit_code == 0, sent.output
    [created] = _records(node, "message.created")
    assert created.actor == "alice"


def test_a_disabled_user_is_refused_at_the_cli_and_the_api(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _login().exit_code == 0
    token = node.accounts.create_token("test", "alice")
    listed = runner.invoke(app, ["user", "list", "--dir", "here", "--json"])
    assert [(u["username"], u["disabled_at"]) for u in json.loads(listed.output)] == [
        ("alice", None)
    ]

    done = runner.invoke(app, ["user", "disable", "alice", "--dir", "here"])
    assert done.exit_code == 0, done.output
    [changed] = [r for r in _records(node, "user.changed") if r.outcome == "disabled"]
    assert changed.object == "alice"
    assert changed.actor.startswith("cli:")  # the node's OS administrator

    refused = runner.invoke(app, ["inbox", "--dir", "here"])
    assert refused.exit_code == 1
    assert "user 'alice' is disabled: ask the node's administrator" in refused.output
    with TestClient(create_app(node.api_services())) as client:
        answer = client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "user_disabled"
    monkeypatch.setenv("SECURELINE_TOKEN", token)
    by_token = runner.invoke(app, ["inbox", "--dir", "here"])
    assert by_token.exit_code == 1
    assert "SECURELINE_TOKEN: user 'alice' is disabled" in by_token.output
    monkeypatch.delenv("SECURELINE_TOKEN")
    # and no new session either, even with the right password
    again = _login()
    assert again.exit_code == 1
    assert "user 'alice' is disabled" in again.output


def test_the_user_routes_are_for_administrators_only(node: Node) -> None:
    node.accounts.add_user("test", "root", "cc", "admin", CLI_PASSWORD)
    officer = {"Authorization": f"Bearer {node.accounts.create_token('test', 'alice')}"}
    admin = {"Authorization": f"Bearer {node.accounts.create_token('test', 'root')}"}
    with TestClient(create_app(node.api_services())) as client:
        for method, path in [("GET", "/api/v1/users"), ("POST", "/api/v1/users/root/disable")]:
            answer = client.request(method, path, headers=officer)
            assert answer.status_code == 403, answer.text
            assert answer.json()["error"]["code"] == "admin_only"
        listed = client.get("/api/v1/users", headers=admin)
        assert listed.status_code == 200
        assert {u["username"]: u["disabled_at"] for u in listed.json()} == {
            "alice": None,
            "root": None,
        }
        assert client.post("/api/v1/users/alice/disable", headers=admin).status_code == 204
        twice = client.post("/api/v1/users/alice/disable", headers=admin)
        assert (twice.status_code, twice.json()["error"]["code"]) == (409, "conflict")
        unknown = client.post("/api/v1/users/nobody/disable", headers=admin)
        assert unknown.status_code == 404
        # alice's token stopped at once
        assert client.get("/api/v1/inbox", headers=officer).status_code == 401
    [changed] = [r for r in _records(node, "user.changed") if r.outcome == "disabled"]
    assert (changed.actor, changed.object) == ("root", "alice")


def test_a_send_and_a_read_from_the_cli_name_the_people(
    pair: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    sender = log_in(interpol, pair.dirs["interpol"])
    reader = log_in(europol, pair.dirs["europol"])
    sent = runner.invoke(
        app, ["send", "--dir", str(pair.dirs["interpol"]), "--to", "ops@europol", *SEND]
    )
    assert sent.exit_code == 0, sent.output
    message_id = sent.output.split()[0]
    wait_state(interpol, message_id, "europol", ["delivered"])
    [created] = [r for r in _records(interpol, "message.created") if r.object == message_id]
    assert created.actor == sender == "cc-officer"

    opened = runner.invoke(app, ["read", message_id, "--dir", str(pair.dirs["europol"])])
    assert opened.exit_code == 0, opened.output
    who = runner.invoke(
        app, ["audit", "who-read", message_id, "--dir", str(pair.dirs["europol"]), "--json"]
    )
    assert who.exit_code == 0, who.output
    [opening] = json.loads(who.output)
    assert opening["actor"] == reader == "ops-officer"
