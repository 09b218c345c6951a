"""``secureline review`` and ``secureline permission`` on a node's directory (issue 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.services.errors import Conflict, NotFoundError
from secureline.store import retention as retention_store
from tests.integration.support import (
    Federation,
    log_in,
    message_row,
    officer,
    sample,
    wait_state,
)

runner = CliRunner()


def test_review_and_permission_commands(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    # the commands act on the running nodes' stores (a second Node per command would leave
    # its connection pool open)
    running = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: running[Path(directory)])
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=61))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    where = str(pair.dirs["europol"])
    europol.accounts.add_unit("setup", "intel")
    log_in(europol, where, "intel")  # an officer of a unit that does not hold the message

    listed = runner.invoke(app, ["review", "list", "--dir", where])
    assert listed.exit_code == 0, listed.output
    assert sent.id not in listed.output  # its review date is years away
    ran = runner.invoke(app, ["review", "run", "--dir", where])
    assert ran.exit_code == 0, ran.output
    assert "queued 0, purged 0" in ran.output

    elsewhere = runner.invoke(app, ["review", "purge", sent.id, "--dir", where, "--reason", "x"])
    assert elsewhere.exit_code != 0  # main() prints the service's error and exits 2
    assert "does not hold message" in str(elsewhere.exception)
    assert message_row(europol, sent.id).content_json is not None
    log_in(europol, where)  # ops-officer: ops holds it
    other = runner.invoke(app, ["review", "list", "--dir", where, "--unit", "intel"])
    assert other.exit_code == 1  # --unit is a check now: it must be the person's own unit
    assert "ops-officer acts for unit ops, not intel" in other.output

    purged = runner.invoke(
        app,
        [
            "review",
            "purge",
            sent.id,
            "--dir",
            where,
            "--reason",
            "duplicate record",
        ],
    )
    assert purged.exit_code == 0, purged.output
    assert message_row(europol, sent.id).content_json is None
    [tomb] = retention_store.tombstones_for(europol.db, sent.id)
    assert tomb.reason == "duplicate record"

    bad_date = runner.invoke(
        app,
        [
            "review",
            "keep",
            sent.id,
            "--dir",
            where,
            "--until",
            "soon",
            "--reason",
            "x",
        ],
    )
    assert bad_date.exit_code != 0
    assert "--until" in bad_date.output

    log_in(interpol, pair.dirs["interpol"])
    unknown = runner.invoke(
        app,
        [
            "permission",
            "grant",
            "--dir",
            str(pair.dirs["interpol"]),
            "--message",
            "msg-" + "0" * 24,
            "--grantee",
            "europol",
            "--scope",
            "onward-transfer",
        ],
    )
    assert isinstance(unknown.exception, NotFoundError)
    listed = runner.invoke(app, ["permission", "list", "--dir", str(pair.dirs["interpol"])])
    assert listed.exit_code == 0, listed.output


def test_read_shows_the_message_and_asks_for_h3_conditions(
    pair: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    interpol = pair["interpol"]
    running = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: running[Path(directory)])
    h3 = interpol.messaging.submit(
        officer(interpol),
        sample("ops@europol", seed=62, handling="H3", handling_conditions="Not before Monday"),
    )
    wait_state(interpol, h3.id, "europol", ["delivered"])
    where = str(pair.dirs["europol"])
    log_in(pair["europol"], where)

    held = runner.invoke(app, ["read", h3.id, "--dir", where])
    assert held.exit_code == 1
    assert "Not before Monday" in held.output
    shown = runner.invoke(app, ["read", h3.id, "--dir", where, "--acknowledge-conditions"])
    assert shown.exit_code == 0, shown.output
    assert "entities" in shown.output  # the entities' table
    wait_state(interpol, h3.id, "europol", ["read"])


def test_retract_and_correct_reach_the_recipient(
    pair: Federation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    running = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: running[Path(directory)])
    wrong, withdrawn = interpol.messaging.submit_many(
        officer(interpol), [sample("ops@europol", seed=63), sample("ops@europol", seed=64)]
    )
    for sent in (wrong, withdrawn):
        wait_state(interpol, sent.id, "europol", ["delivered"])
    where = str(pair.dirs["interpol"])
    log_in(interpol, where)  # cc-officer: cc sent both
    vessel = {"id": "v1", "schema": "Vessel", "properties": {"name": ["Sea Breeze"]}}
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps([vessel]), encoding="utf-8")

    fix = ["--reason", "wrong vessel", "--body", "Fixed", "--entities", str(fixed)]
    corrected = runner.invoke(app, ["correct", wrong.id, "--dir", where, *fix])
    assert corrected.exit_code == 0, corrected.output
    assert "correction queued for europol" in corrected.output
    retracted = runner.invoke(app, ["retract", withdrawn.id, "--dir", where, "--reason", "error"])
    assert retracted.exit_code == 0, retracted.output
    for done in (corrected, retracted):
        wait_state(interpol, done.output.split()[0], "europol", ["delivered"])

    content = json.loads(message_row(europol, wrong.id).content_json or "{}")
    assert content["body"] == "Fixed"
    assert [e["properties"]["name"] for e in content["entities"]] == [["Sea Breeze"]]
    assert message_row(europol, withdrawn.id).content_json is None  # deleted at the recipient

    not_a_list = tmp_path / "one.json"
    not_a_list.write_text(json.dumps(vessel), encoding="utf-8")
    bad = runner.invoke(
        app, ["correct", wrong.id, "--dir", where, "--reason", "x", "--entities", str(not_a_list)]
    )
    assert bad.exit_code == 1
    assert "must hold a JSON list" in bad.output


def test_permission_refuse_and_list_from_the_cli(
    pair: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    running = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: running[Path(directory)])
    monkeypatch.setattr(common.out, "width", 250)
    h2 = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=84, handling="H2"))
    wait_state(interpol, h2.id, "europol", ["delivered"])
    asked = europol.sharing.request_permission(
        officer(europol), h2.id, "judicial-use", "europol", reason="trial next month"
    )
    wait_state(europol, asked.id, "interpol", ["delivered"])
    where = str(pair.dirs["interpol"])

    def listing(*extra: str) -> list[dict[str, object]]:
        done = runner.invoke(app, ["permission", "list", "--dir", where, "--json", *extra])
        assert done.exit_code == 0, done.output
        found: list[dict[str, object]] = json.loads(done.output)
        return found

    log_in(interpol, where)  # an officer of cc, the provider unit
    [pending] = listing()  # no decision yet: the request pending in the person's unit
    assert (pending["state"], pending["id"], pending["scope"]) == (
        "pending",
        asked.id,
        "judicial-use",
    )
    refused = runner.invoke(
        app,
        ["permission", "refuse", asked.id[:-3], "--dir", where, "--unit", "cc",
         "--reason", "the case is closed"],
    )  # fmt: skip
    assert refused.exit_code == 0, refused.output
    assert f"{asked.id} refused" in refused.output
    [item] = listing()
    assert (item["state"], item["request_id"], item["reason"]) == (
        "refused",
        asked.id,
        "the case is closed",
    )
    table = runner.invoke(app, ["permission", "list", "--dir", where])
    assert "refused" in table.output
    assert "the case is closed" in table.output
    again = runner.invoke(
        app, ["permission", "refuse", asked.id, "--dir", where, "--reason", "twice"]
    )
    assert isinstance(again.exception, Conflict)
    assert again.exception.code == "permission_decided"
