"""docs/example-message.md stays true: its entities are sent and read back (issue 13, §4)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from tests.integration.support import Federation, log_in

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "docs" / "example-message.md"


def test_the_documented_example_message_is_delivered_with_its_person_and_vessel(
    pair: Federation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    for name in ("interpol", "europol"):
        log_in(pair[name], pair.dirs[name])  # the doc's officers: of cc and of ops
    text = EXAMPLE.read_text(encoding="utf-8")
    [block] = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
    entities = json.loads(block)
    assert {e["schema"] for e in entities} == {"Person", "Vessel"}
    file = tmp_path / "entities.json"
    file.write_text(block, encoding="utf-8")
    [command] = re.findall(r"```sh\n(secureline send.*?)```", text, flags=re.DOTALL)
    args = command.replace("\\\n", " ").split()
    assert args[:2] == ["secureline", "send"]
    # the documented options, on this test's nodes (the units are the doc's: cc and ops)
    options = " ".join(args[2:])
    options = options.replace("--dir ./interpol", f"--dir {pair.dirs['interpol']}")
    options = options.replace("--entities entities.json", f"--entities {file}")
    quoted = re.findall(r'"([^"]*)"', options)
    for i, value in enumerate(quoted):
        options = options.replace(f'"{value}"', f"@Q{i}")
    argv = [quoted[int(a[2:])] if a.startswith("@Q") else a for a in options.split()]

    sent = runner.invoke(app, ["send", *argv])
    assert sent.exit_code == 0, sent.output
    assert "europol: delivered" in sent.output
    message_id = sent.output.split()[0]
    read = runner.invoke(app, ["read", message_id, "--dir", str(pair.dirs["europol"]), "--json"])
    assert read.exit_code == 0, read.output
    document = json.loads(read.output)
    assert document["content"]["entities"] == entities
    assert document["header"]["handling"] == "H2"
