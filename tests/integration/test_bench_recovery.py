"""``secureline bench recovery`` as a user runs it, with tiny counts: it drains the queue and
reports every field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATABASE_URL_ENV

SECURELINE = Path(sys.executable).with_name("secureline")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get(DATABASE_URL_ENV)), reason="the benchmark always runs on SQLite"
    ),
]


@pytest.mark.timeout(180)
def test_bench_recovery_drains_the_queue_and_reports_its_figures() -> None:
    command = ["bench", "recovery", "--messages", "60", "--queued", "60", "--down-seconds", "3"]
    done = subprocess.run(
        [str(SECURELINE), *command, "--json"],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["drained"] is True
    assert result["failed_attempts_while_down"] >= 1
    assert 0 <= result["resumed_after_s"] < 30
    assert result["drain_msgs_per_s"] > 0
    assert result["ratio_to_line"] > 0
    assert len(result["line_before_after"]) == 2
