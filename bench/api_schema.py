"""A longer schemathesis run against a live node's API; prints a JSON summary.

    python bench/api_schema.py [EXAMPLES] [SEED]      (defaults: 50 examples, seed 1)

The same run as tests/integration/test_api_schema.py (every check but
positive_data_acceptance, for the reason given there), with more examples per operation.
The summary: examples, seed, seconds, schemathesis' exit code and its failure count.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' one run

from tests.integration.test_api_schema import run_schemathesis

from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.node.compose import Node
from secureline.services import accounts


def main(examples: int, seed: int) -> dict[str, object]:
    # schemathesis checks that every route refuses requests without a token (failed
    # authentications from one address, which the edge would lock out)
    accounts.AUTH_FAILURE_LIMIT = 1_000_000
    with tempfile.TemporaryDirectory() as root:
        dirs = build(
            Path(root),
            [
                NodeSpec("interpol", "Interpol", units=[("cc", False, None)]),
                NodeSpec("europol", "Europol", units=[("ops", False, None)]),
            ],
            [LinkSpec("interpol", "europol")],
        )
        node = Node(dirs["interpol"])
        node.accounts.add_user("bench", "alice", "cc", "officer", "correct horse battery")
        token = node.accounts.create_token("bench", "alice")
        servers = node.start(line_port=0, api_port=0)
        report = Path(root) / "report.json"
        started = time.monotonic()
        try:
            result = run_schemathesis(
                f"http://127.0.0.1:{servers.api_port}",
                token,
                examples=examples,
                seed=seed,
                workdir=Path(root),
                extra=("--report", "json", "--report-json-path", str(report)),
                timeout=3600,
            )
        finally:
            node.stop()
        seconds = round(time.monotonic() - started, 1)
        failures = None
        if report.exists():
            failures = _count_failures(json.loads(report.read_text()))
        if result.returncode != 0:
            print(result.stdout[-20000:], file=sys.stderr)
    return {
        "examples_per_operation": examples,
        "seed": seed,
        "seconds": seconds,
        "exit_code": result.returncode,
        "failures": failures,
    }


def _count_failures(report: object) -> int | None:
    """The failure count in schemathesis' JSON report, wherever this version keeps it."""
    if isinstance(report, dict):
        for key in ("failures", "failure_count", "total_failures"):
            value = report.get(key)
            if isinstance(value, int):
                return value
            if isinstance(value, list):
                return len(value)
        for value in report.values():
            found = _count_failures(value)
            if found is not None:
                return found
    return None


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(main(*(args + [50, 1][len(args) :]))))
