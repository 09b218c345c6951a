"""The sending node's CPU time per single submission through the API (issue 20).

Wall-clock rates move with whatever else runs on the machine; the CPU time the node's
process spends on a fixed number of requests moves much less, so this is the figure to judge
a change to the request path by. Two nodes as ``secureline bench api`` makes them (each a
``secureline run`` process), the same client (``bench_api_client``, its own process), and
``/proc/<pid>/stat`` (user + system time of the sender's process and all its threads) read
before and after ``--messages`` single submissions from ``--clients`` clients, then again
after their delivery (the line's share: sending, evidence coming back).

    .venv/bin/python bench/api_cpu.py [--store URL] [--messages 2000] [--clients 16]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from secureline.cli.bench import RECEIVER, SENDER, build_pair
from secureline.cli.bench_api import ClientProcess, NodeProcess, store_for, system_token
from secureline.store import dialect
from secureline.store.database import Database
from secureline.store.tables import inbound_transactions


def transactions(db: Database) -> int:
    """Line transactions a node has received (envelopes and evidence)."""
    with db.read() as conn:
        return int(
            conn.execute(select(func.count()).select_from(inbound_transactions)).scalar_one()
        )


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--peer-down", action="store_true", help="stop the receiver first: the API's share alone"
    )
    parser.add_argument("--py-spy", help="record the sender with this py-spy, to --profile")
    parser.add_argument("--profile", default="profile.txt")
    parser.add_argument("--gil", action="store_true", help="py-spy: the GIL's holder only")
    return parser.parse_args()


def one_round(
    args: argparse.Namespace, client: ClientProcess, sender: NodeProcess, receiver: NodeProcess
) -> dict[str, object]:
    txns = 0 if args.peer_down else transactions(receiver.db)
    before = cpu_seconds(sender.pid)
    got = client.run("single", clients=args.clients, messages=args.messages, seconds_max=600)
    accepted = cpu_seconds(sender.pid)
    if not args.peer_down:
        sender.wait_answered(120)
    delivered = cpu_seconds(sender.pid)
    n = max(1, got["accepted"])
    return {
        "store": args.store.split(":", 1)[0],
        "messages": got["accepted"],
        "msgs_per_s": round(got["accepted"] / got["seconds"], 1),
        "cpu_us_per_request": round((accepted - before) * 1e6 / n),
        "cpu_us_per_message_delivered": round((delivered - before) * 1e6 / n),
        "messages_per_line_transaction": None
        if args.peer_down
        else round(n / max(1, transactions(receiver.db) - txns), 1),
        "load": round(os.getloadavg()[0], 2),
    }


def measure(
    args: argparse.Namespace, sender: NodeProcess, receiver: NodeProcess, token: str
) -> None:
    receiver.wait_ready(60)
    sender.wait_ready(60)
    client = ClientProcess(sender.api_url, token, 600)
    client.run("single", clients=1, messages=50, seconds_max=600)  # warm
    sender.wait_answered(60)
    if args.peer_down:
        receiver.stop()
    spy = None
    if args.py_spy:
        spy = subprocess.Popen(
            [
                *(args.py_spy, "record", "-p", str(sender.pid), "-f", "raw", "-r", "200"),
                *("-o", args.profile, *(["--gil"] if args.gil else [])),
            ]
        )
        time.sleep(1)
    for _ in range(args.rounds):
        print(json.dumps(one_round(args, client, sender, receiver)), flush=True)
        time.sleep(0.5)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)


def main() -> None:
    args = parse_args()
    store, schemas = store_for(args.store)
    with tempfile.TemporaryDirectory(prefix="secureline-api-cpu-") as tmp:
        try:
            dirs = build_pair(Path(tmp), store=store)
            token = system_token(dirs[SENDER])
            sender = NodeProcess(SENDER, dirs[SENDER])
            receiver = NodeProcess(RECEIVER, dirs[RECEIVER])
            receiver.start()
            sender.start()
            try:
                measure(args, sender, receiver, token)
            finally:
                sender.stop()
                receiver.stop()
                sender.db.dispose()
                receiver.db.dispose()
        finally:
            for schema in schemas:
                dialect.drop_schema(args.store, schema)


if __name__ == "__main__":
    main()
