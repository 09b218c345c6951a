"""``secureline bench line``: two nodes on loopback, the receiver in its own process.

The baseline is measured in the same run on the same machine: per message, one Ed25519
sign, one Ed25519 verify, and one row inserted on each side in batches, with no HTTP and no
framework. The line's rate divided by it is the ``ratio``: how much of the unavoidable cost
the whole product adds on top.
"""

from __future__ import annotations

import gc
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.cli.samples import draft
from secureline.crypto.keys import generate_signing_key
from secureline.node.compose import Node
from secureline.services.accounts import Principal, Role
from secureline.store.tables import deliveries

SENDER, RECEIVER = "interpol", "europol"


def baseline(messages: int, batch: int, payload: bytes, directory: Path) -> float:
    key = generate_signing_key("baseline")
    public = key.verify_key()
    dbs = []
    for side in ("a", "b"):
        conn = sqlite3.connect(directory / f"baseline-{side}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE m (id TEXT PRIMARY KEY, body BLOB)")
        dbs.append(conn)
    start = time.perf_counter()
    for first in range(0, messages, batch):
        rows_a, rows_b = [], []
        for i in range(first, min(first + batch, messages)):
            signature = key.sign(payload)
            rows_a.append((f"m{i}", payload + signature))
            public.verify(signature, payload)
            rows_b.append((f"m{i}", payload + signature))
        for conn, rows in ((dbs[0], rows_a), (dbs[1], rows_b)):
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO m VALUES (?, ?)", rows)
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    for conn in dbs:
        conn.close()
    return messages / elapsed


def _wait_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"the receiver did not open port {port}")


def run_line_bench(messages: int, batch: int) -> dict[str, Any]:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="secureline-bench-") as tmp:
        root = Path(tmp)
        dirs = build(
            root,
            [
                NodeSpec(SENDER, "Interpol", units=[("cc", False, None)]),
                NodeSpec(RECEIVER, "Europol", units=[("ops", False, None)]),
            ],
            [LinkSpec(SENDER, RECEIVER)],
        )
        drafts = [
            draft(
                rng,
                "ops@europol",
                "cyber-crime",
                f"b{i}",
                n_entities=rng.randint(3, 5),
                body_bytes=1100,
            )
            for i in range(messages)
        ]
        receiver = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
            [sys.executable, "-m", "secureline.cli.main", "run", "--dir", str(dirs[RECEIVER])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        sender = Node(dirs[SENDER])
        try:
            from secureline.node.config import load_config

            _wait_port(load_config(dirs[RECEIVER]).line.port, 60)
            sender.start()
            gc.collect()
            gc.freeze()  # as `secureline run` does for the receiver
            principal = Principal("bench", "bench", "cc", Role.SYSTEM)
            start = time.perf_counter()
            for first in range(0, messages, batch):
                sender.messaging.submit_many(principal, drafts[first : first + batch])
            done = 0
            deadline = time.monotonic() + max(120.0, messages / 50)
            while done < messages and time.monotonic() < deadline:
                time.sleep(0.02)
                with sender.db.read() as conn:
                    done = int(
                        conn.execute(
                            select(func.count()).where(
                                deliveries.c.state.in_(("delivered", "refused"))
                            )
                        ).scalar_one()
                    )
            seconds = time.perf_counter() - start
            with sender.db.read() as conn:
                rows = conn.execute(
                    select(
                        deliveries.c.created_at,
                        deliveries.c.updated_at,
                        deliveries.c.envelope,
                        deliveries.c.state,
                    )
                ).all()
            latencies = sorted(
                (u - c).total_seconds() * 1000 for c, u, _, s in rows if s == "delivered"
            )
            envelope_bytes = sum(len(e) for _, _, e, _ in rows) / max(1, len(rows))
        finally:
            sender.stop()
            receiver.terminate()
            receiver.wait(timeout=30)
        base = baseline(
            min(messages, 10_000), batch, rows[0][2].encode() if rows else b"x" * 2048, root
        )
    rate = done / seconds
    return {
        "benchmark": "line",
        "messages": messages,
        "delivered": len(latencies),
        "seconds": round(seconds, 3),
        "msgs_per_s": round(rate, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
        "envelope_bytes": round(envelope_bytes),
        "baseline_msgs_per_s": round(base, 1),
        "ratio": round(rate / base, 3),
        "store": "sqlite",
    }
