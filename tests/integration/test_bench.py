"""``secureline bench line`` as a user runs it: small, but real nodes, TLS and SQLite (issue #3)."""

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
def test_bench_line_delivers_every_message_and_reports_its_ratio(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(SECURELINE), "bench", "line", "--messages", "120", "--stored", "50", "--json"],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Only the timed messages count: the 50 sent first are what the stores already held.
    assert result["messages"] == result["delivered"] == 120
    assert result["stored_before"] == 50
    assert result["store"] == "sqlite"
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    before, after = result["baseline_before_after"]
    assert result["baseline_msgs_per_s"] == pytest.approx((before + after) / 2, abs=0.1)
    assert result["ratio"] == pytest.approx(
        result["msgs_per_s"] / result["baseline_msgs_per_s"], abs=0.002
    )
    assert 2_000 < result["envelope_bytes"] < 8_000  # about 2 KiB of content, signed
