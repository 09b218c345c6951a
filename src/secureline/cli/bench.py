"""``secureline bench line``: two nodes on loopback, the receiver in its own process.

The baseline is measured in the same run on the same machine: per message, one Ed25519
sign, one Ed25519 verify, and one row inserted on each side in batches, with no HTTP and no
framework. The line's rate divided by it is the ``ratio``: how much of the unavoidable cost
the whole product adds on top. A shared machine drifts by tens of percent within a minute, so
the baseline runs once just before the line and once just after it, both over the first
message's envelope as the line makes it, and the ratio uses their mean (both are in the
output).

``--no-audit`` runs both nodes with :class:`~secureline.services.audit.UnsafeNoAudit` (an
audit log that records nothing), so that the chain's share of the line's cost can be
measured: compare ``msgs_per_s`` with and without. It is the only user of that class.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from secureline.cli.common import settle_memory
from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.cli.samples import BENCH_POOL, bench_drafts
from secureline.crypto.keys import generate_signing_key
from secureline.domain.addresses import Address
from secureline.domain.message import compose as compose_message
from secureline.domain.message import parse_draft
from secureline.node import compose
from secureline.node.compose import Node
from secureline.services.audit import UnsafeNoAudit, UnsafeNoAuditWarning
from secureline.services.line.wire import envelope_payload, sign_message_envelope
from secureline.services.roles import Principal, Role
from secureline.services.submission import new_message_id
from secureline.store.tables import deliveries, envelopes

SENDER, RECEIVER = "interpol", "europol"


@contextmanager
def unsafe_no_audit() -> Iterator[None]:
    """Nodes constructed inside build an :class:`UnsafeNoAudit`: NO audit chain at all.

    Benchmark only (``--no-audit``); the warning each construction raises is expected here.
    """
    import warnings

    saved = getattr(compose, "AuditLog")  # noqa: B009
    setattr(compose, "AuditLog", UnsafeNoAudit)  # noqa: B010 (a module attribute, on purpose)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnsafeNoAuditWarning)
            yield
    finally:
        setattr(compose, "AuditLog", saved)  # noqa: B010


def build_pair(
    root: Path, store: Callable[[str], tuple[str, str | None]] | None = None
) -> dict[str, Path]:
    """The benchmarks' two nodes, made as the CLI makes them: SENDER (unit cc) linked to
    RECEIVER (unit ops); ``store`` as :func:`~secureline.cli.federation.build` takes it
    (SQLite in each node's directory when None)."""
    nodes = [
        NodeSpec(SENDER, "Interpol", units=[("cc", False, None)]),
        NodeSpec(RECEIVER, "Europol", units=[("ops", False, None)]),
    ]
    links = [LinkSpec(SENDER, RECEIVER)]
    made = build(root, nodes, links) if store is None else build(root, nodes, links, store=store)
    for directory in made.values():
        # The line's benchmarks measure the line: the cross-check of what arrives, which a
        # loaded node runs in a process of its own (docs/matching.md), is measured apart.
        with (directory / "node.toml").open("a", encoding="utf-8") as config:
            config.write("\n[matching]\ncrosscheck_in_node = false\n")
    return made


def sample_envelope(data: dict[str, Any]) -> bytes:
    """An envelope as the line makes one from ``data``, for the baseline to sign and store."""
    now = datetime.now(UTC)
    message = compose_message(
        parse_draft(data),
        message_id=new_message_id(),
        sender=Address("cc", SENDER),
        now=now,
        default_review_date=now.date(),
    )
    key = generate_signing_key(SENDER)
    return sign_message_envelope(envelope_payload(message, RECEIVER, None), key).encode()


def baseline(messages: int, batch: int, payload: bytes, directory: Path) -> float:
    key = generate_signing_key("baseline")
    public = key.verify_key()
    dbs = []
    run = uuid.uuid4().hex[:8]
    for side in ("a", "b"):
        conn = sqlite3.connect(directory / f"baseline-{run}-{side}.db", isolation_level=None)
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


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (Linux ``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"the receiver did not open port {port}")


def send_and_wait(
    sender: Node,
    principal: Principal,
    pool: list[dict[str, Any]],
    count: int,
    batch: int,
    before: int,
) -> int:
    """Submit ``count`` drafts taken in turn from ``pool``, in batches, and wait until they
    are answered; how many were."""
    for first in range(0, count, batch):
        sender.messaging.submit_many(
            principal, [pool[i % len(pool)] for i in range(first, min(first + batch, count))]
        )
    done = 0
    deadline = time.monotonic() + max(120.0, count / 50)
    while done < count and time.monotonic() < deadline:
        # Coarse and indexed, so that watching does not steal the sender's CPU; the
        # latencies come from each row's own timestamps, not from this loop.
        time.sleep(0.05)
        with sender.db.read() as conn:
            answered = conn.execute(
                select(func.count()).where(
                    deliveries.c.next_hop == RECEIVER,
                    deliveries.c.state.in_(("delivered", "refused")),
                )
            ).scalar_one()
        done = int(answered) - before
    return done


def run_line_bench(
    messages: int, batch: int, *, audit: bool = True, stored: int = 0
) -> dict[str, Any]:
    """The line benchmark; ``audit=False`` runs both nodes with no audit chain (UNSAFE).

    ``stored``: first send this many messages over the line, untimed, so that the timed ones
    go into stores that already hold them (how the line behaves as its stores fill up)."""
    with tempfile.TemporaryDirectory(prefix="secureline-bench-") as tmp:
        root = Path(tmp)
        dirs = build_pair(root)
        # At most BENCH_POOL distinct drafts, sent again in turn: the list of every draft
        # (~2.7 KB each) made up front was most of the sender's growth over a long run. Up to
        # BENCH_POOL messages, the drafts are the same as when each had its own.
        drafts = bench_drafts(min(messages, BENCH_POOL), 1, "b")
        # The first message's envelope, made again as the line makes it; both runs sign it.
        payload = sample_envelope(drafts[0])
        base_before = baseline(min(messages, 10_000), batch, payload, root)
        command = (
            ["-m", "secureline.cli.main", "run"]
            if audit
            else ["-m", "secureline.cli.bench_receiver", "run-without-audit"]
        )
        receiver = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
            [sys.executable, *command, "--dir", str(dirs[RECEIVER])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if audit:
            sender = Node(dirs[SENDER])
        else:
            with unsafe_no_audit():
                sender = Node(dirs[SENDER])
        try:
            from secureline.node.config import load_config

            wait_port(load_config(dirs[RECEIVER]).line.port, 60)
            sender.start()
            settle_memory()  # as `secureline run` does for the receiver
            principal = Principal("bench", "bench", "cc", Role.SYSTEM)
            # The stores already hold ``stored`` messages, sent over the line untimed.
            if stored and send_and_wait(sender, principal, drafts, stored, batch, 0) < stored:
                raise RuntimeError(f"the {stored} messages sent first were not all answered")
            timed_from = datetime.now(UTC)
            cpu_before = (time.process_time(), _cpu_seconds(receiver.pid))
            start = time.perf_counter()
            done = send_and_wait(sender, principal, drafts, messages, batch, stored)
            seconds = time.perf_counter() - start
            cpu_after = (time.process_time(), _cpu_seconds(receiver.pid))
            with sender.db.read() as conn:
                rows = conn.execute(
                    select(
                        deliveries.c.created_at,
                        deliveries.c.updated_at,
                        envelopes.c.envelope,
                        deliveries.c.state,
                    )
                    .join(
                        envelopes,
                        (envelopes.c.message_id == deliveries.c.message_id)
                        & (envelopes.c.destination == deliveries.c.destination),
                    )
                    .where(deliveries.c.created_at >= timed_from)
                ).all()
            latencies = sorted(
                (u - c).total_seconds() * 1000 for c, u, _, s in rows if s == "delivered"
            )
            envelope_bytes = sum(len(e) for _, _, e, _ in rows) / max(1, len(rows))
        finally:
            sender.stop()
            receiver.terminate()
            receiver.wait(timeout=30)
        base_after = baseline(min(messages, 10_000), batch, payload, root)
    base = (base_before + base_after) / 2
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
        "baseline_before_after": [round(base_before, 1), round(base_after, 1)],
        "ratio": round(rate / base, 3),
        # The processes' own CPU time over the timed window, per message: unlike the rate, it
        # hardly moves when other work shares the machine ("not slower" on a shared machine).
        "sender_cpu_us_per_msg": round((cpu_after[0] - cpu_before[0]) / max(1, done) * 1e6, 1),
        "receiver_cpu_us_per_msg": round((cpu_after[1] - cpu_before[1]) / max(1, done) * 1e6, 1),
        "store": "sqlite",
        "stored_before": stored,
        **({} if audit else {"audit": "off (UnsafeNoAudit)"}),
    }
