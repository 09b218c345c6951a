"""``secureline demo --check`` end to end, as a user runs it (issues #3 and #6)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DATABASE_URL_ENV

# cli/main.py has no ``if __name__ == "__main__"`` guard: run the console script installed
# next to this interpreter.
SECURELINE = Path(sys.executable).with_name("secureline")
SUBMIT_REFUSAL = "onward_transfer_without_permission"  # refused when submitted, never sent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get(DATABASE_URL_ENV)), reason="the demo always runs on SQLite"
    ),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Any]:
    """One run of the demo, shared by the tests below."""
    where = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [str(SECURELINE), "demo", "--check", "--dir", str(where / "nodes")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=where,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{done.stderr[-3000:]}"
    return done, json.loads(lines[-1])


@pytest.mark.timeout(300)
def test_demo_check_delivers_everything_and_refuses_what_the_rules_stop(
    demo: tuple[subprocess.CompletedProcess[str], Any],
) -> None:
    done, summary = demo
    assert summary["problems"] == []
    assert summary["ok"] is True
    assert done.returncode == 0, done.stderr[-3000:]
    assert summary["sent"] > 0
    assert summary["sent"] == summary["delivered"] + summary["refused"]
    assert summary["relayed"] > 0
    reasons = {r["reason"] for r in summary["refusals"]}
    assert {"crime_area_not_allowed", "data_subject_not_allowed", SUBMIT_REFUSAL} <= reasons
    # a strategic report to every unit of Europol, and one naming a suspect, refused (issue 17)
    assert summary["strategic"] == {"sent": 2, "refused_for_personal_data": 1}
    assert "personal_data_in_strategic" in reasons


@pytest.mark.timeout(300)
def test_demo_summary_adds_up(demo: tuple[subprocess.CompletedProcess[str], Any]) -> None:
    _, summary = demo
    assert summary["sent"] == summary["delivered"] + summary["refused"]


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@pytest.mark.timeout(300)
def test_the_running_demo_writes_demo_json_and_stops_every_node_on_sigterm(
    tmp_path: Path,
) -> None:
    """Issue 13: demo.json with a credential per role on every node, the same as a table, and
    SIGTERM stopping all the nodes as Ctrl-C does."""
    where = tmp_path / "nodes"
    process = subprocess.Popen(
        [str(SECURELINE), "demo", "--dir", str(where)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "250"},
    )
    try:
        deadline = time.monotonic() + 240
        while not (where / "demo.json").exists():
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no demo.json"
            time.sleep(0.2)
        document = json.loads((where / "demo.json").read_text(encoding="utf-8"))
        assert (where / "demo.json").stat().st_mode & 0o077 == 0  # passwords: owner only
        nodes = document["nodes"]
        assert set(nodes) == {"ncb-madrid", "interpol", "europol", "enu-spain"}
        ports = []
        for node in nodes.values():
            assert node["line"].startswith("https://127.0.0.1:")
            assert node["api"].startswith("http://127.0.0.1:")
            roles = {c["role"] for c in node["credentials"]}
            assert roles == {"officer", "admin", "dpo", "system"}
            for credential in node["credentials"]:
                assert set(credential) == {
                    "user",
                    "unit",
                    "role",
                    "token",
                    "password",
                    "totp_secret",
                }
            assert node["desk"] == node["api"] + "/desk/"
            ports += [int(node["line"].rsplit(":", 1)[1]), int(node["api"].rsplit(":", 1)[1])]
        officer = next(c for c in nodes["europol"]["credentials"] if c["role"] == "officer")
        answer = httpx.get(
            nodes["europol"]["api"] + "/api/v1/inbox",
            headers={"Authorization": f"Bearer {officer['token']}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text  # the token in the file works
        assert httpx.get(nodes["europol"]["desk"], timeout=10).status_code in (200, 303)

        seen = []
        while not seen or "press Ctrl-C to stop" not in seen[-1]:
            seen.append(process.stdout.readline() if process.stdout else "")
            assert seen[-1], "the demo ended before it was stopped"
        assert officer["user"] in "".join(seen)  # the same credentials, printed as a table
        assert f"desk of europol: {nodes['europol']['desk']}" in "".join(seen)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
        assert process.returncode == 0, output[-3000:]
        assert "stopping" in output
        assert not [port for port in ports if _listening(port)]  # every node stopped
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
