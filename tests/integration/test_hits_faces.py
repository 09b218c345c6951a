"""Issue 16, item 3, through the faces: ``GET /api/v1/hits``, ``GET /api/v1/hits/{id}`` and
``POST /api/v1/hits/{id}/decision`` through the API's real edge, and ``secureline hits list``
and ``hits decide`` through the CLI's typer app, on a hit europol's cross-check made from a
message interpol sent over the line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.store import hits as hits_store
from tests.integration.hits_support import PUTIN_HELD, PUTIN_SENT, checked, hold, send
from tests.integration.support import PAIR, Federation, log_in, officer

PASSWORD = "correct horse battery staple"
runner = CliRunner()


def a_hit(pair: Federation, tmp_path: Path) -> tuple[Node, hits_store.Hit]:
    europol = pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, PUTIN_SENT)
    checked(europol, message_id)
    [hit] = europol.hits.list(officer(europol))
    return europol, hit


def bearer(node: Node, username: str, unit: str, role: str = "officer") -> dict[str, str]:
    node.accounts.add_user("test", username, unit, role, PASSWORD)
    return {"Authorization": f"Bearer {node.accounts.create_token('test', username)}"}


def code(response: object) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]  # type: ignore[attr-defined]


def test_the_api_lists_shows_and_decides_a_units_hits(pair: Federation, tmp_path: Path) -> None:
    europol, hit = a_hit(pair, tmp_path)
    europol.accounts.add_unit("test", "intel")
    client = TestClient(create_app(europol.api_services()))
    ops = bearer(europol, "olga", "ops")
    listed = client.get("/api/v1/hits", headers=ops)
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()
    assert (shown["id"], shown["state"], shown["unit"]) == (hit.id, "new", "ops")
    assert shown["message"]["sender"] == "cc@interpol"
    assert shown["message"]["schema"] == "Person"
    assert (shown["holding"]["source"], shown["holding"]["handling"]) == ("national-register", "H2")
    assert any(r["property"] == "birthDate" and r["agrees"] for r in shown["reasons"])
    assert client.get("/api/v1/hits?state=dismissed", headers=ops).json() == []
    assert client.get("/api/v1/hits?state=maybe", headers=ops).status_code == 422
    assert client.get(f"/api/v1/hits/{hit.id}", headers=ops).json()["id"] == hit.id

    intel = bearer(europol, "ivan", "intel")
    assert client.get("/api/v1/hits", headers=intel).json() == []
    assert code(client.get(f"/api/v1/hits/{hit.id}", headers=intel)) == (403, "not_holding_unit")
    refused = client.post(f"/api/v1/hits/{hit.id}/decision", json={"decision": "confirmed"},
                          headers=intel)  # fmt: skip
    assert code(refused) == (403, "not_holding_unit")
    system = bearer(europol, "nsys", "ops", "system")
    assert code(client.get("/api/v1/hits", headers=system)) == (403, "hits_not_permitted")
    admin = bearer(europol, "ada", "ops", "admin")
    unknown = client.get("/api/v1/hits/hit-" + "0" * 24, headers=admin)
    assert code(unknown) == (404, "unknown_hit")
    assert client.get("/api/v1/hits/not-a-hit", headers=admin).status_code == 422

    bad = client.post(f"/api/v1/hits/{hit.id}/decision", json={"decision": "maybe"}, headers=ops)
    assert bad.status_code == 422
    body = {"decision": "dismissed", "note": "a namesake, born elsewhere"}
    decided = client.post(f"/api/v1/hits/{hit.id}/decision", json=body, headers=ops)
    assert decided.status_code == 200, decided.text
    assert (decided.json()["state"], decided.json()["note"]) == ("dismissed", body["note"])
    assert decided.json()["decided_by"] == "olga"
    again = client.post(f"/api/v1/hits/{hit.id}/decision", json={"decision": "confirmed"},
                        headers=ops)  # fmt: skip
    assert code(again) == (409, "hit_decided")
    assert [h["id"] for h in client.get("/api/v1/hits?state=dismissed", headers=ops).json()] == [
        hit.id
    ]
    assert client.get("/api/v1/hits").status_code == 401


def test_the_cli_lists_and_decides(
    pair: Federation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    europol, hit = a_hit(pair, tmp_path)
    monkeypatch.setattr(common, "node_at", lambda directory: europol)
    monkeypatch.setattr(common.out, "width", 300)
    log_in(europol, "here")
    listed = runner.invoke(app, ["hits", "list", "--dir", "here", "--json"])
    assert listed.exit_code == 0, listed.output
    [shown] = json.loads(listed.stdout)
    assert (shown["id"], shown["holding"]["caption"]) == (hit.id, "Владимир Владимирович Путин")
    table = runner.invoke(app, ["hits", "list", "--dir", "here"])
    assert table.exit_code == 0
    assert hit.id in table.stdout
    done = runner.invoke(app, ["hits", "decide", hit.id, "confirmed", "--dir", "here",
                               "--note", "the same man"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"{hit.id} confirmed"
    again = runner.invoke(app, ["hits", "decide", hit.id, "dismissed", "--dir", "here"])
    assert again.exit_code == 1
    assert "hit_decided: this hit was confirmed already" in again.stderr
    assert europol.hits.get(officer(europol), hit.id).note == "the same man"


def test_a_worker_process_of_its_own_cross_checks_what_the_node_queued(
    federation_factory: Callable[..., Federation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[matching] crosscheck_in_node = false``: the running node only queues what arrives;
    ``secureline crosscheck run`` does the rest (here its pass run in the test's process)."""
    fed = federation_factory(PAIR, start=("interpol",))
    config = fed.dirs["europol"] / "node.toml"
    config.write_text(config.read_text() + "\n[matching]\ncrosscheck_in_node = false\n")
    europol = fed.start("europol")
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(fed, PUTIN_SENT)
    time.sleep(2 * europol.config.matching.crosscheck_interval_seconds)
    assert europol.crosscheck.pending() == 1  # no timer took it
    monkeypatch.setattr(common, "node_at", lambda directory: europol)
    done = runner.invoke(app, ["crosscheck", "run", "--dir", "here", "--once", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"messages": 1, "pending": 0}
    [hit] = europol.hits.list(officer(europol))
    assert hit.message_id == message_id
