"""The index of holdings at scale (issue 16, items 1 and 2): import rate and query latency.

``python bench/holdings.py [--store URL] [--entities N] [--queries Q]`` makes a node with the
CLI's own steps, writes N synthetic persons (names drawn from Latin, Cyrillic, Greek, Arabic,
Hebrew and Hangul given and family names, a birth date, a passport number on one in four) as
FtM JSON lines, runs ``secureline holdings import`` on it as a separate process (the time a
user waits, start-up included), then asks Q fuzzy name queries through the service, each a
holding's name in another spelling. It prints one JSON object:

``{"entities", "store", "import_seconds", "import_per_s", "query_p50_ms", "query_p95_ms"}``
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.node.compose import Node
from secureline.services.matching.index import query_entity
from secureline.services.roles import Principal, Role

GIVEN = [
    "Ivan",
    "Иван",
    "Olga",
    "Ольга",
    "Mohammed",
    "محمد",
    "Fatima",
    "فاطمة",
    "David",
    "דוד",
    "Sarah",
    "שרה",
    "Minjun",
    "민준",
    "Seoyeon",
    "서연",
    "Nikos",
    "Νίκος",
    "Maria",
    "Μαρία",
    "Ahmed",
    "أحمد",
    "Yosef",
    "יוסף",
    "Jan",
    "Anna",
    "Pierre",
    "Lucía",
]
FAMILY = [
    "Petrov",
    "Петров",
    "Smirnova",
    "Смирнова",
    "Hassan",
    "حسن",
    "Haddad",
    "حداد",
    "Cohen",
    "כהן",
    "Levi",
    "לוי",
    "Kim",
    "김",
    "Park",
    "박",
    "Papadopoulos",
    "Παπαδόπουλος",
    "Nowak",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Novak",
    "Horvat",
]


def _people(path: Path, n: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} {rng.choice(GIVEN)[:1]}{i % 997}"
            props: dict[str, list[str]] = {
                "name": [name],
                "birthDate": [f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-01"],
            }
            if i % 4 == 0:
                props["passportNumber"] = [f"P{i:09d}"]
            out.write(json.dumps({"id": f"p{i}", "schema": "Person", "properties": props},
                                 ensure_ascii=False) + "\n")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-holdings-"))
    schema = f"bench_{int(time.time())}"
    try:
        store = (lambda name: (args.store, f"{schema}_{name}")) if args.store else None
        spec = NodeSpec("interpol", "Interpol", "Lyon", [("cc", False, None)])
        other = NodeSpec("europol", "Europol", "The Hague", [("ops", False, None)])
        links = [LinkSpec("interpol", "europol")]
        dirs = build(root, [spec, other], links, **({"store": store} if store else {}))
        rng = random.Random(16)
        path = root / "people.jsonl"
        _people(path, args.entities, rng)
        exe = shutil.which("secureline") or sys.exit("secureline is not installed")
        started = time.perf_counter()
        subprocess.run(
            [exe, "holdings", "import", str(path), "--dir", str(dirs["interpol"]),
             "--source", "bench", "--unit", "cc", "--json"],
            check=True, capture_output=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        node = Node(dirs["interpol"])
        who = Principal("bench", "bench", "cc", Role.OFFICER)
        times = []
        for _ in range(args.queries):
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            began = time.perf_counter()
            node.holdings.match(who, query_entity(name=name), limit=10)
            times.append((time.perf_counter() - began) * 1000)
        node.db.dispose()
        times.sort()
        print(json.dumps({
            "entities": args.entities,
            "store": "postgresql" if args.store else "sqlite",
            "import_seconds": round(seconds, 1),
            "import_per_s": round(args.entities / seconds),
            "query_p50_ms": round(times[len(times) // 2], 1),
            "query_p95_ms": round(times[int(len(times) * 0.95)], 1),
        }))  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
