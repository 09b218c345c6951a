"""``secureline send --batch FILE`` (issue 20, item 2): a JSON-lines file of drafts, sent
through the batch submission in chunks of ``[api] max_batch``, each draft answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.store.messages import count_messages
from tests.integration.support import Federation, sample, wait_state

runner = CliRunner()


@pytest.fixture
def running(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    # the command acts on the running node's store (as in test_cli_messages.py)
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    monkeypatch.setattr(common.out, "width", 200)
    return pair


def _file(tmp_path: Path, lines: list[Any]) -> Path:
    path = tmp_path / "drafts.jsonl"
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def _send(fed: Federation, path: Path, *more: str) -> Any:
    where = str(fed.dirs["interpol"])
    return runner.invoke(app, ["send", "--batch", str(path), "--dir", where, "--from", "cc", *more])


def _ok(seed: int) -> dict[str, Any]:
    return sample("ops@europol", "maritime-piracy", seed=seed)


def test_each_line_is_answered_in_order_and_the_accepted_are_delivered(
    running: Federation, tmp_path: Path
) -> None:
    interpol = running["interpol"]
    refused = sample("ops@europol", "environmental-crime", seed=2)
    path = _file(tmp_path, [_ok(1), "", refused, _ok(3)])
    done = _send(running, path)
    assert done.exit_code == 1, done.output  # one draft was refused
    lines = done.output.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("0 msg-")
    assert lines[0].endswith("queued for europol")
    assert lines[1].startswith("1 refused (refused): crime_area_not_allowed: ")
    assert lines[2].startswith("2 msg-")
    for line in (lines[0], lines[2]):
        wait_state(interpol, line.split()[1], "europol", ["delivered"])
    assert count_messages(interpol.db, "out") == 2


def test_json_prints_the_results_and_keys_make_a_second_run_a_replay(
    running: Federation, tmp_path: Path
) -> None:
    interpol = running["interpol"]
    path = _file(tmp_path, [_ok(4) | {"idempotency_key": "a"}, _ok(5) | {"idempotency_key": "b"}])
    first = _send(running, path, "--json")
    assert first.exit_code == 0, first.output
    results = json.loads(first.output)
    assert [(r["index"], r["status"], r["error"]) for r in results] == [
        (0, "accepted", None),
        (1, "accepted", None),
    ]
    assert set(results[0]["message"]) == {"id", "destinations", "held_for_review"}
    again = _send(running, path, "--json")
    assert json.loads(again.output) == results
    assert count_messages(interpol.db, "out") == 2


def test_a_file_longer_than_max_batch_goes_in_chunks(
    running: Federation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interpol = running["interpol"]
    monkeypatch.setattr(interpol.messaging, "max_batch", 2)
    path = _file(tmp_path, [_ok(10 + n) for n in range(5)])
    done = _send(running, path, "--json")
    assert done.exit_code == 0, done.output
    results = json.loads(done.output)
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert len({r["message"]["id"] for r in results}) == 5
    assert count_messages(interpol.db, "out") == 5


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("{not json", "drafts.jsonl:3: not JSON"),
        ("[1, 2]", "drafts.jsonl:3: must be a JSON object"),
        (_ok(22) | {"crime_area": "jaywalking"}, "drafts.jsonl:3: crime_area"),
        (_ok(23) | {"idempotency_key": "a"}, "drafts.jsonl:3: idempotency_key: the same as line 1"),
        (_ok(24) | {"idempotency_key": "x" * 201}, "drafts.jsonl:3: idempotency_key"),
    ],
)
def test_a_bad_line_fails_naming_it_before_anything_is_sent(
    running: Federation, tmp_path: Path, bad: Any, said: str
) -> None:
    path = _file(tmp_path, [_ok(20) | {"idempotency_key": "a"}, _ok(21), bad])
    done = _send(running, path)
    assert done.exit_code == 1
    assert said in done.output, done.output
    assert count_messages(running["interpol"].db, "out") == 0


def test_batch_takes_no_single_message_option(running: Federation, tmp_path: Path) -> None:
    done = _send(running, _file(tmp_path, [_ok(30)]), "--to", "ops@europol")
    assert done.exit_code == 1
    assert "--batch takes every draft from its file" in done.output
    assert count_messages(running["interpol"].db, "out") == 0


def test_a_single_send_still_needs_its_options(running: Federation) -> None:
    where = str(running.dirs["interpol"])
    done = runner.invoke(app, ["send", "--dir", where, "--from", "cc", "--to", "ops@europol"])
    assert done.exit_code == 1
    assert "give --to, --kind, --area and --subject" in done.output
