"""Clean stops (issue 13, section 4): SIGTERM stops ``secureline run`` within a second, with
nothing logged as an error, even while a peer holds a connection to it. Real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.integration.support import (
    CLI_PASSWORD,
    PAIR,
    SECURELINE,
    UNITS,
    Federation,
    NodeProcess,
)

pytestmark = pytest.mark.slow

STOP_SECONDS = 1.0


def _stop_timed(node: NodeProcess) -> tuple[float, int]:
    process = node.process
    assert process is not None
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=15)
    node.process = None
    return time.monotonic() - started, code


def _errors(log: str) -> list[str]:
    return [
        line
        for line in log.splitlines()
        if "ERROR" in line or "Traceback" in line or "CRIT" in line
    ]


@pytest.mark.timeout(120)
def test_sigterm_stops_a_node_within_a_second_while_its_peer_is_connected(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    interpol, europol = NodeProcess(fed.dirs["interpol"]), NodeProcess(fed.dirs["europol"])
    where = str(fed.dirs["interpol"])
    env = {**os.environ, "SECURELINE_PASSWORD": CLI_PASSWORD}
    for step in (
        [
            "user",
            "add",
            "alice",
            "--unit",
            UNITS["interpol"],
            "--password-env",
            "SECURELINE_PASSWORD",
        ],
        ["login", "--user", "alice"],
    ):
        done = subprocess.run(
            [str(SECURELINE), *step, "--dir", where],
            capture_output=True, text=True, timeout=60, check=False, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    try:
        europol.start()
        interpol.start()
        # a message over the line, so that interpol holds a (keep-alive) connection to europol
        sent = subprocess.run(
            [
                str(SECURELINE), "send", "--dir", where, "--to", f"{UNITS['europol']}@europol",
                "--kind", "information", "--area", "cyber-crime", "--handling", "H0",
                "--subject", "stop test", "--wait", "30",
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "europol: delivered" in sent.stdout

        took, code = _stop_timed(europol)
        assert code == 0
        assert took < STOP_SECONDS, f"europol took {took:.2f} s to stop:\n{europol.output()}"
        took, code = _stop_timed(interpol)
        assert code == 0
        assert took < STOP_SECONDS, f"interpol took {took:.2f} s to stop:\n{interpol.output()}"
        for node in (europol, interpol):
            assert _errors(node.output()) == [], node.output()
            assert node.output().rstrip().endswith("stopped")
    finally:
        interpol.stop()
        europol.stop()
