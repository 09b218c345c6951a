"""Clear failures from the command line (issue 13, section 4): what is unknown is named, and a
command that would prompt without a terminal says which option to use."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from tests.integration.support import Federation, log_in

runner = CliRunner()

SEND = ["--kind", "information", "--area", "cyber-crime", "--handling", "H0", "--subject", "s"]


@pytest.fixture
def running(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    monkeypatch.setattr(common.err, "width", 300)  # one line per error, whole
    log_in(pair["interpol"], pair.dirs["interpol"])
    return pair


def test_sending_to_an_unknown_node_names_it(running: Federation) -> None:
    where = str(running.dirs["interpol"])
    done = runner.invoke(app, ["send", "--dir", where, "--to", "ops@atlantis", *SEND])
    assert done.exit_code == 1
    assert "--to: no route to node 'atlantis'" in done.output


def test_sending_to_an_unknown_unit_with_wait_names_it(running: Federation) -> None:
    where = str(running.dirs["interpol"])
    done = runner.invoke(
        app, ["send", "--dir", where, "--to", "nobody@europol", *SEND, "--wait", "20"]
    )
    assert done.exit_code == 1, done.output
    assert "europol: refused by europol: unknown_unit: no such unit here: nobody" in done.output


def test_a_prompt_without_a_terminal_names_the_option(tmp_path: Path) -> None:
    # CliRunner's stdin is not a terminal, as in a script or a pipe
    done = runner.invoke(
        app, ["user", "add", "alice", "--unit", "ncb", "--dir", str(tmp_path / "none")]
    )
    assert done.exit_code == 1
    assert "no terminal to ask for the password: give --password-env VARIABLE" in done.output
