"""``secureline alert`` and ``secureline forward`` (issue 13, section 4): an alert to several
units waits for a second officer; a forward the rules refuse is explained reason by reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.services.errors import Forbidden
from tests.integration.support import Federation, log_in, officer, sample, wait_state

runner = CliRunner()


@pytest.fixture
def running(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    monkeypatch.setattr(common.out, "width", 250)
    monkeypatch.setattr(common.err, "width", 250)
    for name in ("interpol", "europol"):
        log_in(pair[name], pair.dirs[name])  # cc-officer@interpol, ops-officer@europol
    return pair


def test_an_alert_to_several_units_waits_for_a_second_officer(running: Federation) -> None:
    interpol, europol = running["interpol"], running["europol"]
    europol.accounts.add_unit("setup", "fugitives")
    # the line keeps the units it read at start (a unit added while it runs is not seen:
    # see the report); read them again, as a restart would
    europol.inbox.refresh_units()
    where = str(running.dirs["interpol"])
    sent = runner.invoke(
        app,
        [
            "send", "--dir", where,
            "--to", "ops@europol", "--to", "fugitives@europol",
            "--kind", "alert", "--alert", "red", "--area", "counter-terrorism",
            "--handling", "H0", "--subject", "Wanted: armed suspect",
        ],
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "held for review" in sent.output
    alert_id = sent.output.split()[0]

    listed = runner.invoke(app, ["alert", "list", "--dir", where, "--json"])
    assert listed.exit_code == 0, listed.output
    [held] = json.loads(listed.output)
    assert held["id"] == alert_id
    assert held["alert"] == "red"
    assert held["to"] == ["ops@europol", "fugitives@europol"]

    own = runner.invoke(app, ["alert", "approve", alert_id[:-4], "--dir", where])
    assert isinstance(own.exception, Forbidden)  # its author may not approve it
    log_in(interpol, where, who="bob")  # a second officer of the unit
    approved = runner.invoke(app, ["alert", "approve", alert_id, "--dir", where])
    assert approved.exit_code == 0, approved.output
    assert "approved by cc-bob" in approved.output
    state = wait_state(interpol, alert_id, "europol", ["delivered", "refused"])
    assert state == "delivered"
    listed = runner.invoke(app, ["alert", "list", "--dir", where, "--json"])
    assert json.loads(listed.output) == []


def test_a_refused_forward_is_explained(running: Federation) -> None:
    interpol = running["interpol"]
    h2 = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=81, handling="H2"))
    wait_state(interpol, h2.id, "europol", ["delivered"])
    where = str(running.dirs["europol"])
    done = runner.invoke(
        app, ["forward", h2.id, "--dir", where, "--to", "cc@interpol",
              "--purpose", "a different purpose"],
    )  # fmt: skip
    assert done.exit_code == 1, done.output
    assert "refused by the rules of sharing:" in done.output
    # every reason on its own line, code first, explained
    for code in ("h2_onward_without_permission", "other_purpose_without_permission"):
        assert f"  {code}: " in done.output


def test_permission_requests_are_listed_for_the_provider(running: Federation) -> None:
    interpol = running["interpol"]
    h2 = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=82, handling="H2"))
    wait_state(interpol, h2.id, "europol", ["delivered"])
    asked = runner.invoke(
        app,
        [
            "permission", "request", h2.id[:-2], "--dir", str(running.dirs["europol"]),
            "--scope", "onward-transfer", "--grantee", "europol",
            "--reason", "joint investigation",
        ],
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    request_id = asked.output.split()[0]
    wait_state(running["europol"], request_id, "interpol", ["delivered"])
    where = str(running.dirs["interpol"])
    listed = runner.invoke(app, ["permission", "requests", "--dir", where, "--json"])
    assert listed.exit_code == 0, listed.output
    [request] = json.loads(listed.output)
    assert request["request"] == request_id
    assert request["message"] == h2.id
    assert request["scope"] == "onward-transfer"
    assert request["reason"] == "joint investigation"
    table = runner.invoke(app, ["permission", "requests", "--dir", where, "--unit", "cc"])
    assert request_id in table.output
