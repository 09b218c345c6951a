"""``secureline inbox|read|status`` as people and scripts use them (issue 13, section 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from secureline import __version__
from secureline.cli import common
from secureline.cli.main import app
from secureline.domain.markings import TLP_AMBER_STRICT_CONDITIONS
from tests.integration.support import Federation, log_in, officer, sample, wait_state

runner = CliRunner()


@pytest.fixture
def running(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    # the commands act on the running nodes' stores (a second Node per command would leave
    # its connection pool open)
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    monkeypatch.setattr(common.out, "width", 200)  # a wide terminal: every column whole
    for name in ("interpol", "europol"):
        log_in(pair[name], pair.dirs[name])  # cc-officer@interpol, ops-officer@europol
    return pair


def test_version() -> None:
    done = runner.invoke(app, ["--version"])
    assert done.exit_code == 0
    assert done.output.strip() == f"secureline {__version__}"


def test_inbox_shows_read_state_and_read_renders_for_a_person_and_a_script(
    running: Federation,
) -> None:
    interpol = running["interpol"]
    deadline = "2031-01-02T03:04:00+00:00"
    first, second = interpol.messaging.submit_many(
        officer(interpol),
        [
            sample("ops@europol", seed=71, handling="H1", kind="request", deadline=deadline),
            sample("ops@europol", seed=72),
        ],
    )
    for sent in (first, second):
        wait_state(interpol, sent.id, "europol", ["delivered"])
    where = str(running.dirs["europol"])

    # a unique prefix is enough (the two ids differ in their random part at least)
    prefix = next(
        first.id[:n] for n in range(5, len(first.id)) if not second.id.startswith(first.id[:n])
    )
    shown = runner.invoke(app, ["read", prefix, "--dir", where])
    assert shown.exit_code == 0, shown.output
    text = shown.output
    # the restriction first, explained in words; then the evaluation in words
    assert text.index("handling H1") < text.index("subject:")
    assert "not to be used in judicial proceedings without the provider's permission" in text
    evaluation = interpol.messaging.status(officer(interpol), first.id).header.evaluation
    assert f"evaluation {evaluation}: {evaluation.describe()}" in text
    assert "schema" in text  # the entities' table
    assert first.id in text

    listed = runner.invoke(app, ["inbox", "--dir", where, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["id"]: row for row in json.loads(listed.output)}
    assert rows[first.id]["read"] is True
    assert rows[second.id]["read"] is False
    assert rows[first.id]["deadline"] == deadline
    assert rows[first.id]["handling"] == "H1"
    assert rows[first.id]["sender"].endswith("@interpol")
    table = runner.invoke(app, ["inbox", "--dir", where, "--unit", "ops"])
    assert table.exit_code == 0, table.output
    assert "unread" in table.output
    assert "2031-01-02 03:04" in table.output
    common.out.width = 80  # a narrow one: the ids are still whole
    narrow = runner.invoke(app, ["inbox", "ops", "--dir", where])  # the unit as an argument
    assert first.id in narrow.output
    assert second.id in narrow.output

    scripted = runner.invoke(app, ["read", second.id, "--dir", where, "--json"])
    assert scripted.exit_code == 0, scripted.output
    document = json.loads(scripted.output)
    assert document["header"]["id"] == second.id
    assert document["header"]["handling_meaning"]
    assert document["header"]["evaluation_meaning"]
    assert document["first_read"] is True
    assert isinstance(document["content"]["entities"], list)

    status = runner.invoke(
        app, ["status", first.id[:-3], "--dir", str(running.dirs["interpol"]), "--json"]
    )
    assert status.exit_code == 0, status.output
    [delivery] = json.loads(status.output)["deliveries"]
    assert delivery["destination"] == "europol"

    who = runner.invoke(app, ["audit", "who-read", prefix, "--dir", where, "--json"])
    assert who.exit_code == 0, who.output
    [opening] = json.loads(who.output)
    assert opening["object"] == first.id
    assert opening["action"] == "message.read"
    assert opening["actor"] == "ops-officer"  # the person logged in, not a process


def test_an_ambiguous_or_unknown_prefix_is_refused_naming_the_candidates(
    running: Federation,
) -> None:
    interpol = running["interpol"]
    one, two = interpol.messaging.submit_many(
        officer(interpol), [sample("ops@europol", seed=73), sample("ops@europol", seed=74)]
    )
    where = str(running.dirs["interpol"])
    ambiguous = runner.invoke(app, ["status", "msg-", "--dir", where])
    assert ambiguous.exit_code == 1
    assert "ambiguous" in ambiguous.output
    assert one.id in ambiguous.output
    assert two.id in ambiguous.output
    unknown = runner.invoke(app, ["status", "msg-zzz", "--dir", where])
    assert unknown.exit_code == 1
    assert "no message with an id starting 'msg-zzz'" in unknown.output
    wildcard = runner.invoke(app, ["status", "msg%", "--dir", where])
    assert wildcard.exit_code == 1  # a % is a character, not a pattern
    assert "no message" in wildcard.output


def _send(running: Federation, *options: str) -> Any:
    where = str(running.dirs["interpol"])
    return runner.invoke(
        app,
        [
            "send", "--dir", where, "--to", "ops@europol",
            "--kind", "information", "--area", "cyber-crime", "--subject", "tlp", *options,
        ],
    )  # fmt: skip


def test_send_takes_a_tlp_label_and_a_case_reference(running: Federation) -> None:
    europol = str(running.dirs["europol"])
    amber = _send(running, "--tlp", "amber", "--case-ref", "ES-2026-0042", "--wait", "20")
    assert amber.exit_code == 0, amber.output
    strict = _send(running, "--tlp", "TLP:AMBER+STRICT", "--wait", "20")
    assert strict.exit_code == 0, strict.output
    headers = []
    for done in (amber, strict):
        read = runner.invoke(
            app,
            ["read", done.output.split()[0], "--dir", europol, "--json"],
        )
        headers.append(json.loads(read.stdout)["header"])  # H3: the error is on stderr
    assert (headers[0]["handling"], headers[0]["classification"]) == ("H2", "restricted")
    assert headers[0]["case_ref"] == "ES-2026-0042"
    assert headers[1]["handling"] == "H3"
    assert headers[1]["handling_conditions"] == TLP_AMBER_STRICT_CONDITIONS

    for options, message in [
        (["--tlp", "PURPLE"], "--tlp: 'PURPLE' is not a TLP 2.0 label"),
        (["--tlp", "RED", "--conditions", "x"], "--conditions with --tlp"),
        (["--tlp", "RED", "--handling", "H0"], "give --handling or --tlp"),
        ([], "give --handling or --tlp"),
    ]:
        refused = _send(running, *options)
        assert refused.exit_code == 1, refused.output
        assert message in refused.output
