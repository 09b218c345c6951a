"""Memory over a long run (issue 20, item 5): does a node's RSS stay flat as messages pass?

``python bench/memory.py [--store URL] [--messages N] [--tracemalloc]`` makes two nodes with
the CLI's own steps, serves each with ``secureline run`` in its own process, and drives the
SENDER through its REST API as a national system would: batches on
``POST /api/v1/messages/batch`` and, between them, single ``POST /api/v1/messages`` from a few
concurrent clients (kept-alive connections, httpx). At each checkpoint (10,000, 50,000,
100,000, ... messages accepted) it waits until every message is delivered and its evidence is
back, then reads both processes' RSS (``VmRSS`` in ``/proc``). It prints one JSON object:

``{"store", "messages", "single_share", "checkpoints": [{"messages", "seconds",
"sender_rss_mb", "receiver_rss_mb"}], "growth": {"sender", "receiver"}, "tracemalloc"?}``

where ``growth`` is the last checkpoint's RSS over the first's (issue 20 asks at most 1.3
from 10,000 to 500,000). ``--tracemalloc`` runs both nodes with ``SECURELINE_TRACEMALLOC``
(:mod:`secureline.cli.diagnostics`; slower, for finding what grows, not for the figures): a
snapshot at every checkpoint, and the allocation sites that grew most from the first to the
last in the output. Environment variables (``MALLOC_ARENA_MAX``, ...) reach both nodes.

The sender's backlog is kept bounded (the client waits when more than ``--backlog`` messages
are on their way): memory is measured against messages that passed, not against a queue.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from secureline.cli.bench import build_pair
from secureline.cli.bench_api import (
    IN_FLIGHT,
    RECEIVER,
    SENDER,
    NodeProcess,
    store_for,
    system_token,
)
from secureline.cli.diagnostics import TRACEMALLOC_ENV
from secureline.cli.samples import BENCH_POOL, bench_drafts
from secureline.store import dialect

CHECKPOINTS = (10_000, 50_000, 100_000, 200_000, 300_000, 400_000, 500_000, 1_000_000)
JSON_HEADERS = {"content-type": "application/json"}


def note(text: str) -> None:
    sys.stderr.write(f"bench memory: {text}\n")
    sys.stderr.flush()


class Client:
    """Batches on one kept-alive connection, singles from ``clients`` threads (each its own)."""

    def __init__(self, url: str, token: str, clients: int) -> None:
        self._pool = [json.dumps(d).encode() for d in bench_drafts(BENCH_POOL, 7, "m")]
        self._next = 0
        self._url, self._token = url, token
        self._batches = self._session()
        self._local = threading.local()
        self._sessions: list[httpx.Client] = []
        self._threads = ThreadPoolExecutor(max_workers=clients)

    def _session(self) -> httpx.Client:
        return httpx.Client(
            base_url=self._url, headers={"authorization": f"Bearer {self._token}"}, timeout=60
        )

    def _take(self, n: int) -> list[bytes]:
        taken = [self._pool[(self._next + i) % BENCH_POOL] for i in range(n)]
        self._next = (self._next + n) % BENCH_POOL
        return taken

    def batch(self, size: int) -> int:
        body = b"[" + b",".join(self._take(size)) + b"]"
        answer = self._batches.post("/api/v1/messages/batch", content=body, headers=JSON_HEADERS)
        answer.raise_for_status()
        return sum(1 for r in answer.json()["results"] if r["status"] == "accepted")

    def singles(self, n: int) -> int:
        return sum(self._threads.map(self._single, self._take(n)))

    def _single(self, body: bytes) -> int:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._session()
            self._sessions.append(session)
        answer = session.post("/api/v1/messages", content=body, headers=JSON_HEADERS)
        return 1 if answer.status_code == 201 else 0

    def close(self) -> None:
        self._threads.shutdown()
        for session in (self._batches, *self._sessions):
            session.close()


def _snapshot(node: NodeProcess, prefix: Path, n: int) -> Path:
    """Ask the node for its n-th tracemalloc snapshot and wait until it is written."""
    path = Path(f"{prefix}.{n}.snapshot")
    os.kill(node.pid, signal.SIGUSR1)
    deadline, size = time.monotonic() + 300, -1
    while time.monotonic() < deadline:
        time.sleep(1)
        if path.exists() and path.stat().st_size == size > 0:
            return path
        size = path.stat().st_size if path.exists() else -1
    raise RuntimeError(f"{node.name} wrote no snapshot {path}")


def _grown(first: Path, last: Path, top: int = 15) -> list[dict[str, Any]]:
    """The allocation sites that grew most between two snapshots, with their callers."""
    before = tracemalloc.Snapshot.load(str(first))
    after = tracemalloc.Snapshot.load(str(last))
    return [
        {
            "size_diff_kb": round(stat.size_diff / 1024, 1),
            "count_diff": stat.count_diff,
            "where": [f"{f.filename}:{f.lineno}" for f in stat.traceback][:6],
        }
        for stat in after.compare_to(before, "traceback")[:top]
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    store, schemas = store_for(args.store)
    result: dict[str, Any] = {
        "store": "postgresql" if not args.store.startswith("sqlite") else "sqlite",
        "messages": args.messages,
        "single_share": args.single_share,
        "checkpoints": [],
    }
    with tempfile.TemporaryDirectory(prefix="secureline-bench-memory-") as tmp:
        root = Path(tmp)
        try:
            dirs = build_pair(root, store=store)
            token = system_token(dirs[SENDER])
            nodes = {name: NodeProcess(name, dirs[name]) for name in (SENDER, RECEIVER)}
            prefixes = {name: root / f"{name}-trace" for name in nodes}
            for name, node in nodes.items():
                if args.tracemalloc:
                    os.environ[TRACEMALLOC_ENV] = str(prefixes[name])
                node.start()
            os.environ.pop(TRACEMALLOC_ENV, None)
            try:
                _measure(args, nodes, prefixes, token, result)
            finally:
                for node in nodes.values():
                    node.stop()
                    node.db.dispose()
        finally:
            for schema in schemas:
                dialect.drop_schema(args.store, schema)
    first, last = result["checkpoints"][0], result["checkpoints"][-1]
    result["growth"] = {
        side: round(last[f"{side}_rss_mb"] / first[f"{side}_rss_mb"], 3)
        for side in ("sender", "receiver")
    }
    return result


def _measure(
    args: argparse.Namespace,
    nodes: dict[str, NodeProcess],
    prefixes: dict[str, Path],
    token: str,
    result: dict[str, Any],
) -> None:
    marks = [c for c in CHECKPOINTS if c < args.messages] + [args.messages]
    singles_per_batch = round(args.batch * args.single_share / (1 - args.single_share))
    sender, receiver = nodes[SENDER], nodes[RECEIVER]
    ready_s = 600 if args.tracemalloc else 60  # tracing makes start-up many times slower
    receiver.wait_ready(ready_s)
    sender.wait_ready(ready_s)
    client = Client(sender.api_url, token, args.clients)
    sent, start = 0, time.monotonic()
    for mark in marks:
        while sent < mark:
            sent += client.batch(min(args.batch, mark - sent))
            if singles_per_batch and sent < mark:
                sent += client.singles(min(singles_per_batch, mark - sent))
            while sender.deliveries_in(IN_FLIGHT) > args.backlog:
                time.sleep(0.2)
        if not sender.wait_answered(600):
            note(f"at {mark}: deliveries still on their way after 600 s")
        time.sleep(2)  # the last requests' objects freed, the loops idle
        point = {
            "messages": sent,
            "seconds": round(time.monotonic() - start, 1),
            "sender_rss_mb": sender.rss_mb(),
            "receiver_rss_mb": receiver.rss_mb(),
        }
        if args.trim:  # what the allocator held free: RSS after glibc's malloc_trim
            for node in nodes.values():
                os.kill(node.pid, signal.SIGUSR2)
            time.sleep(2)
            point["sender_trimmed_mb"] = sender.rss_mb()
            point["receiver_trimmed_mb"] = receiver.rss_mb()
        result["checkpoints"].append(point)
        note(json.dumps(point))
        if args.tracemalloc:
            for name, node in nodes.items():
                _snapshot(node, prefixes[name], len(result["checkpoints"]))
    client.close()
    n = len(result["checkpoints"])
    if args.tracemalloc and n > 1:
        result["tracemalloc"] = {
            name: _grown(
                Path(f"{prefixes[name]}.1.snapshot"), Path(f"{prefixes[name]}.{n}.snapshot")
            )
            for name in nodes
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=200, help="drafts per batch request")
    parser.add_argument(
        "--single-share", type=float, default=0.2, help="share sent as single POSTs (0 to 0.9)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent single clients")
    parser.add_argument("--backlog", type=int, default=5_000, help="most messages on their way")
    parser.add_argument("--trim", action="store_true", help="RSS after malloc_trim too")
    parser.add_argument("--tracemalloc", action="store_true", help="snapshots at checkpoints")
    args = parser.parse_args()
    if not 0 <= args.single_share <= 0.9:
        parser.error("--single-share is between 0 and 0.9")
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
