"""``secureline bench recovery``: how fast a link recovers when its peer comes back.

Issue 13 asks that when a peer returns, its queue starts moving within about two seconds
(whatever backoff the link had reached) and drains at no less than 80% of the line's own
rate. Measured here in one run, on the same two nodes:

1. the line's rate with the peer up (the yardstick);
2. the peer is stopped, ``queued`` messages are submitted, and the link backs off for
   ``down_seconds``;
3. the peer is started again and the clock runs from the moment it listens: to the first
   delivery (``resumed_after_s``) and to the last (the drain's rate is from the first
   delivery to the last);
4. the line's rate again: the ratio uses the mean of 1 and 4, as ``bench line`` does with
   its baseline, because a shared machine's speed drifts within a minute.

The sender runs in this process, as in ``bench line``; the receiver is a ``secureline run``
process, stopped with SIGTERM.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from secureline.cli.bench import RECEIVER, SENDER, build_pair, send_and_wait, wait_port
from secureline.cli.common import settle_memory
from secureline.cli.samples import draft
from secureline.node.compose import Node
from secureline.node.config import load_config
from secureline.services.roles import Principal, Role
from secureline.store.tables import deliveries, peers

#: how often the clock looks at the store while the queue drains (coarse: it costs the
#: sender CPU), and so the resolution of ``resumed_after_s``
_POLL_SECONDS = 0.05


def run_recovery_bench(
    messages: int, queued: int, down_seconds: float, batch: int = 200
) -> dict[str, Any]:
    rng = random.Random(2)

    def drafts(n: int, tag: str) -> list[dict[str, Any]]:
        return [
            draft(rng, "ops@europol", "cyber-crime", f"{tag}{i}", n_entities=4, body_bytes=1100)
            for i in range(n)
        ]

    with tempfile.TemporaryDirectory(prefix="secureline-bench-") as tmp:
        dirs = build_pair(Path(tmp))
        port = load_config(dirs[RECEIVER]).line.port
        receiver = _start(dirs[RECEIVER], port)
        sender = Node(dirs[SENDER])
        try:
            sender.start()
            settle_memory()
            principal = Principal("bench", "bench", "cc", Role.SYSTEM)
            line_before = _line_rate(sender, principal, drafts(messages, "l"), batch, 0)
            done = messages

            receiver.terminate()
            receiver.wait(timeout=30)
            backlog = drafts(queued, "q")
            for first in range(0, queued, batch):
                sender.messaging.submit_many(principal, backlog[first : first + batch])
            time.sleep(down_seconds)
            attempts = _failed_attempts(sender)

            receiver = _start(dirs[RECEIVER], port)
            back = time.perf_counter()
            first_at = last_at = None
            deadline = back + max(120.0, queued / 50)
            while time.perf_counter() < deadline:
                answered = _answered(sender) - done
                now = time.perf_counter()
                if answered > 0 and first_at is None:
                    first_at = now
                if answered >= queued:
                    last_at = now
                    break
                time.sleep(_POLL_SECONDS)
            done += queued
            line_after = _line_rate(sender, principal, drafts(messages, "a"), batch, done)
        finally:
            sender.stop()
            receiver.terminate()
            receiver.wait(timeout=30)
    line_rate = (line_before + line_after) / 2  # the machine drifts: both sides of the drain
    drain_rate = None
    if first_at is not None and last_at is not None:
        # a drain shorter than one look at the store counts as one look (the resolution)
        drain_rate = queued / max(last_at - first_at, _POLL_SECONDS)
    return {
        "benchmark": "recovery",
        "store": "sqlite",
        "line_msgs_per_s": round(line_rate, 1),
        "line_before_after": [round(line_before, 1), round(line_after, 1)],
        "queued": queued,
        "down_seconds": down_seconds,
        "failed_attempts_while_down": attempts,
        "resumed_after_s": round(first_at - back, 2) if first_at is not None else None,
        "drained": last_at is not None,
        "drain_msgs_per_s": round(drain_rate, 1) if drain_rate is not None else None,
        "ratio_to_line": round(drain_rate / line_rate, 3) if drain_rate is not None else None,
    }


def _line_rate(
    sender: Node, principal: Principal, drafts: list[dict[str, Any]], batch: int, before: int
) -> float:
    start = time.perf_counter()
    done = send_and_wait(sender, principal, drafts, len(drafts), batch, before)
    return done / (time.perf_counter() - start)


def _start(directory: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
        [sys.executable, "-m", "secureline.cli.main", "run", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, 60)
    return process


def _answered(sender: Node) -> int:
    with sender.db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    deliveries.c.next_hop == RECEIVER,
                    deliveries.c.state.in_(("delivered", "refused")),
                )
            ).scalar_one()
        )


def _failed_attempts(sender: Node) -> int:
    with sender.db.read() as conn:
        value = conn.execute(
            select(peers.c.failed_attempts).where(peers.c.name == RECEIVER)
        ).scalar_one_or_none()
    return int(value or 0)
