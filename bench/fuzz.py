"""Fuzz the project's own parsers for as long as asked, one target after another.

    python bench/fuzz.py --seconds N [--target T] [--seed S] [--save DIR]

Prints one JSON line per target: {"target", "runs", "findings", "signatures"}; ``findings``
counts distinct signatures (exception type and innermost secureline function). With --save,
the shortest input found for each signature is written to DIR/<target>/. Stores follow
SECURELINE_TEST_DATABASE_URL as the tests do (SQLite files by default). See
tests/fuzz/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fuzz import common  # noqa: E402
from tests.fuzz.registry import TARGETS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, required=True, help="per target")
    parser.add_argument("--target", choices=sorted(TARGETS), help="only this one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, help="write each finding's input here")
    args = parser.parse_args(argv)
    names = [args.target] if args.target else list(TARGETS)
    for name in names:
        outcome = common.run(TARGETS[name], seconds=args.seconds, seed=args.seed)
        if args.save:
            for (kind, where), data in outcome.findings.items():
                short = hashlib.sha256(f"{kind}{where}".encode()).hexdigest()[:8]
                out = args.save / name / f"{kind}-{short}.bin"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
        line = {
            "target": name,
            "runs": outcome.runs,
            "findings": len(outcome.findings),
            "signatures": sorted(f"{k} at {w}" for k, w in outcome.findings),
        }
        print(orjson.dumps(line).decode(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
