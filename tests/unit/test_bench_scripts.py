"""Every script in bench/ imports: they are run by hand, seldom, so nothing else would notice
one that no longer imports (bench/disk.py once imported a name a merge had renamed). Each
runs its long parts only under ``__main__``, so importing one runs none of them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def test_the_scripts_are_found() -> None:
    assert {"disk.py", "line.py", "memory.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_a_bench_script_imports(script: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{script.stem}", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a name its imports no longer offer fails here
    assert "__main__" in script.read_text(), "long parts belong under __main__"
