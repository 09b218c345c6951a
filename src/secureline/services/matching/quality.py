"""The matcher measured on labelled name pairs: ``left,right,same`` (``same`` is 1 or 0).

Each pair is scored as two entities of one schema (names only). Precision, recall and F1
are at the threshold; AUC is the probability that a random true pair outscores a random
false one (ties count half), over every pair. ``per_script`` groups the pairs by the
scripts of their names other than Latin (``Latin`` when both are Latin only).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from followthemoney import model
from rigour.text.scripts import text_scripts

from secureline.services.errors import InvalidInput
from secureline.services.matching.scoring import DEFAULT_THRESHOLD, score


def read_pairs(path: Path) -> list[tuple[str, str, bool]]:
    pairs: list[tuple[str, str, bool]] = []
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None or not {"left", "right", "same"} <= set(reader.fieldnames):
            raise InvalidInput(path.name, "needs the columns left,right,same")
        for row in reader:
            same = (row.get("same") or "").strip()
            if same not in ("0", "1") or not row["left"] or not row["right"]:
                raise InvalidInput(f"{path.name} line {reader.line_num}", "same must be 1 or 0")
            pairs.append((row["left"], row["right"], same == "1"))
    return pairs


def script_of(left: str, right: str) -> str:
    scripts = sorted((text_scripts(left) | text_scripts(right)) - {"Latin", "Common"})
    return "+".join(scripts) if scripts else "Latin"


def pair_score(left: str, right: str, schema: str = "Person") -> float:
    a = model.make_entity(schema)
    a.id = "left"
    a.add("name", left)
    b = model.make_entity(schema)
    b.id = "right"
    b.add("name", right)
    return score(a, b).score


def _auc(scored: list[tuple[float, bool]]) -> float | None:
    positives = [s for s, same in scored if same]
    negatives = [s for s, same in scored if not same]
    if not positives or not negatives:
        return None
    # rank-sum (Mann-Whitney): sort once, average ranks over ties
    ordered = sorted(scored, key=lambda x: x[0])
    ranks: dict[int, float] = {}
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1][0] == ordered[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(ranks[k] for k, (_, same) in enumerate(ordered) if same)
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def metrics(scored: Iterable[tuple[float, bool]], threshold: float) -> dict[str, Any]:
    items = list(scored)
    tp = sum(1 for s, same in items if same and s >= threshold)
    fp = sum(1 for s, same in items if not same and s >= threshold)
    fn = sum(1 for s, same in items if same and s < threshold)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = _auc(items)
    return {
        "n": len(items),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "auc": round(auc, 4) if auc is not None else None,
    }


def compare(
    path: Path, threshold: float = DEFAULT_THRESHOLD, schema: str = "Person"
) -> dict[str, Any]:
    if model.get(schema) is None:
        raise InvalidInput("--schema", f"unknown schema {schema!r}", code="unknown_schema")
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput("--threshold", "between 0 and 1")
    pairs = read_pairs(path)
    scored: list[tuple[float, bool]] = []
    by_script: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for left, right, same in pairs:
        value = pair_score(left, right, schema)
        scored.append((value, same))
        by_script[script_of(left, right)].append((value, same))
    overall = metrics(scored, threshold)
    return {
        "n": overall["n"],
        "threshold": threshold,
        "precision": overall["precision"],
        "recall": overall["recall"],
        "f1": overall["f1"],
        "auc": overall["auc"],
        "per_script": {k: metrics(v, threshold) for k, v in sorted(by_script.items())},
    }
