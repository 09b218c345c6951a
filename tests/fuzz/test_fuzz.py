"""The fuzz targets, bounded, in ``make test`` (on whichever store the run uses), and every
recorded reproducer under findings/ replayed.

Each target runs in this process for RUNS[target] inputs (its seeds, then mutants; see
common.py for why in-process rather than ``atheris.Fuzz``), about a minute in all. A finding
fails the test unless its exact signature, (exception type, innermost secureline function),
is in KNOWN; those are printed. KNOWN lists the findings of issue 21 that other branches are
fixing: empty it once they are merged, and every reproducer below must then pass cleanly (a
reproducer that still finds something fails, whatever its signature).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.fuzz import common
from tests.fuzz.registry import TARGETS

# Issue 21's findings, still present on main when this was written. One entry each, exact.
KNOWN: dict[common.Signature, str] = {}

# Inputs per target: about 25 s in all on SQLite alone, a minute on PostgreSQL (more when
# make test runs both side by side); the receive path is the slow one.
RUNS = {
    "receive_raw": 5000,
    "receive_envelope": 3000,
    "evidence": 2000,
    "agreement": 3000,
    "peers": 50_000,
    "entities": 50_000,
    "markings": 50_000,
    "api": 1500,
}

FINDINGS = Path(__file__).parent / "findings"
REPRODUCERS = sorted(p for p in FINDINGS.rglob("*") if p.is_file())


def test_every_target_has_a_budget() -> None:
    assert set(RUNS) == set(TARGETS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(TARGETS))
def test_target(name: str) -> None:
    outcome = common.run(TARGETS[name], runs=RUNS[name])
    assert outcome.runs == RUNS[name]
    for signature in outcome.findings:
        if signature in KNOWN:
            print(f"known finding ({KNOWN[signature]}): {outcome.details[signature]}")
    new = {s: outcome.details[s] for s in outcome.findings if s not in KNOWN}
    assert not new, f"{name}: new findings (add a reproducer under findings/{name}/): {new}"


@pytest.mark.parametrize("path", REPRODUCERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reproducer(path: Path) -> None:
    target = TARGETS[path.parent.name]
    logging.disable(logging.CRITICAL)
    try:
        target.one_input(path.read_bytes())
    except common.Finding as found:
        if found.signature not in KNOWN:
            raise
        print(f"known finding ({KNOWN[found.signature]}): {found}")
    finally:
        logging.disable(logging.NOTSET)


def test_reproducers_are_recorded() -> None:
    # Every KNOWN entry has a reproducer (the reproducer test would otherwise prove nothing).
    assert len(REPRODUCERS) >= len(KNOWN)
