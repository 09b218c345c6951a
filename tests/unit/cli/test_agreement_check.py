"""``secureline agreement check``: every problem in one run, and warnings (issue 13, §4)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from secureline.cli.agreement_check import check
from secureline.cli.federation import LinkSpec, agreement_text
from secureline.cli.main import app

runner = CliRunner()
GOOD = agreement_text(LinkSpec("interpol", "europol"))


def test_a_good_agreement_is_valid_with_its_digest_and_no_warning(tmp_path: Path) -> None:
    checked = check(GOOD)
    assert checked.problems == []
    assert checked.warnings == []
    assert checked.agreement is not None
    file = tmp_path / "good.toml"
    file.write_text(GOOD, encoding="utf-8")
    done = runner.invoke(app, ["agreement", "check", str(file)])
    assert done.exit_code == 0, done.output
    assert f"digest {checked.agreement.digest()}" in done.output


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    bad = (
        GOOD.replace('id = "interpol-europol"', 'id = "Bad Id"')
        .replace("version = 1", "version = 0")
        .replace('"maritime-piracy"', '"piracy"')
        .replace('confidentiality = "optional"\n', 'colour = "red"\n')
    )
    checked = check(bad)
    fields = [problem.split(":")[0] for problem in checked.problems]
    assert fields == ["colour", "confidentiality", "crime_areas", "id", "version"]
    assert checked.agreement is None
    file = tmp_path / "bad.toml"
    file.write_text(bad, encoding="utf-8")
    done = runner.invoke(app, ["agreement", "check", str(file), "--json"])
    assert done.exit_code == 1
    report = json.loads(done.output)
    assert len(report["problems"]) == 5
    assert report["digest"] is None


def test_kinds_that_block_the_providers_control_messages_are_warned_about() -> None:
    narrow = GOOD.replace('kinds = ["*"]', 'kinds = ["request", "reply", "deletion"]')
    checked = check(narrow)
    assert checked.problems == []
    assert checked.agreement is not None  # valid: a warning, not a refusal
    [warning] = checked.warnings
    named = warning.split(":")[1]
    for kind in ("correction", "permission-request", "permission-grant"):
        assert kind in named
    assert "deletion" not in warning.split(":")[1]


def test_a_file_that_is_not_toml_is_one_problem() -> None:
    checked = check("[agreement\n")
    [problem] = checked.problems
    assert problem.startswith("toml: not valid TOML")
