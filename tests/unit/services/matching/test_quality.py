"""``secureline match compare``: the figures, through the installed entry point, on the
project's labelled set (tests/data/name_pairs.csv); and its refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from secureline.services.errors import InvalidInput
from secureline.services.matching import quality

PAIRS = Path(__file__).parents[3] / "data" / "name_pairs.csv"


def test_compare_prints_the_figures_the_issue_names() -> None:
    # the entry point installed beside the interpreter running the tests (make test does not
    # put the venv on PATH)
    exe = Path(sys.executable).parent / "secureline"
    assert exe.exists(), exe
    done = subprocess.run(
        [exe, "match", "compare", str(PAIRS), "--json"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert set(result) == {"n", "threshold", "precision", "recall", "f1", "auc", "per_script"}
    assert result["n"] == 208
    assert result["threshold"] == 0.8
    # the figures docs/performance.md reports: a regression shows here
    assert result["precision"] >= 0.95
    assert result["recall"] >= 0.8
    assert {"Arabic", "Cyrillic", "Greek", "Han", "Hangul", "Hebrew", "Latin"} <= set(
        result["per_script"]
    )


def test_metrics_at_a_threshold() -> None:
    scored = [(0.9, True), (0.85, False), (0.7, True), (0.1, False)]
    figures = quality.metrics(scored, 0.8)
    assert (figures["precision"], figures["recall"]) == (0.5, 0.5)
    assert figures["auc"] == 0.75


def test_a_pairs_file_without_its_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("a,b\nx,y\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="needs the columns left,right,same"):
        quality.compare(path)
    path.write_text("left,right,same\nx,y,maybe\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 2"):
        quality.compare(path)
