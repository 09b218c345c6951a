"""``secureline demo --check`` end to end, as a user runs it (issues #3 and #6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


@pytest.mark.timeout(300)
def test_demo_summary_adds_up(demo: tuple[subprocess.CompletedProcess[str], Any]) -> None:
    _, summary = demo
    assert summary["sent"] == summary["delivered"] + summary["refused"]
