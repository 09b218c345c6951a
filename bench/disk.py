"""Where a message's bytes go in each store (issue 20 item 6): two nodes in this process,
``--messages`` sent through ``Messaging.submit_many`` and delivered, then each store measured
per table and index. SQLite: the ``dbstat`` virtual table (pages in use, their unused bytes
counted with them, as the file holds them). PostgreSQL: ``pg_relation_size`` of each table,
its TOAST, and each index, in the node's schema.

    .venv/bin/python bench/disk.py [--messages 2000] [--store postgresql://127.0.0.1/test]

Prints one JSON object: per side, bytes per message for each table and index, their total,
and the mean envelope's size.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from secureline.cli.bench import RECEIVER, SENDER, build_pair
from secureline.cli.bench_api import store_for
from secureline.cli.samples import bench_drafts
from secureline.node.compose import Node
from secureline.services.accounts import Principal, Role
from secureline.store import dialect
from secureline.store.tables import deliveries, messages


def per_object(node: Node) -> dict[str, int]:
    """Bytes each table and index takes."""
    url, schema = node.db.url, node.db.schema
    dialect.checkpoint(url)
    if dialect.is_sqlite(url):
        with node.db.read() as conn:
            rows = conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").all()
        return {name: int(size) for name, size in rows}
    engine = create_engine(dialect.normalise_url(url), poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.relname, pg_relation_size(c.oid),"
            " coalesce(pg_total_relation_size(c.reltoastrelid), 0)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'i')",
            {"schema": schema or "public"},
        ).all()
    engine.dispose()
    sizes: dict[str, int] = {}
    for name, main, toast in rows:
        sizes[name] = int(main)
        if toast:
            sizes[f"{name} (toast)"] = int(toast)
    return sizes


def envelope_size(node: Node) -> float:
    with node.db.read() as conn:
        return float(
            conn.exec_driver_sql("SELECT avg(length(envelope)) FROM envelopes").scalar_one() or 0
        )


def column_sizes(node: Node) -> dict[str, int]:
    """The mean length of each large column of ``messages``, and how many rows the tables
    of audit, evidence and answers hold."""
    names = ("header_json", "content_json", "content_jwe", "envelope")
    with node.db.read() as conn:
        means = conn.exec_driver_sql(
            "SELECT " + ", ".join(f"avg(length({n}))" for n in names) + " FROM messages"
        ).one()
        sizes = {n: round(float(m or 0)) for n, m in zip(names, means, strict=True)}
        for table in ("audit_records", "evidence_tokens", "inbound_transactions"):
            rows = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            sizes[f"{table} rows"] = int(rows)
    return sizes


def wait_delivered(sender: Node, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with sender.db.read() as conn:
            done = conn.execute(
                select(func.count()).where(deliveries.c.state.in_(("delivered", "refused")))
            ).scalar_one()
        if done >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"only {done} of {count} delivered")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--store", default="sqlite")
    args = parser.parse_args()
    store, schemas = store_for(args.store)
    with tempfile.TemporaryDirectory(prefix="secureline-disk-") as tmp:
        dirs = build_pair(Path(tmp), store=store)
        sender, receiver = Node(dirs[SENDER]), Node(dirs[RECEIVER])
        receiver.start()
        sender.start()
        try:
            principal = Principal("bench", "bench", "cc", Role.SYSTEM)
            drafts = bench_drafts(args.messages, 1, "b")
            before = {SENDER: per_object(sender), RECEIVER: per_object(receiver)}
            for first in range(0, len(drafts), 200):
                sender.messaging.submit_many(principal, drafts[first : first + 200])
            wait_delivered(sender, args.messages, 300)
            time.sleep(1)  # the receiver's last evidence, audit records
            result: dict[str, Any] = {
                "store": "postgresql" if schemas else "sqlite",
                "messages": args.messages,
            }
            for name, node in ((SENDER, sender), (RECEIVER, receiver)):
                after = per_object(node)
                with node.db.read() as conn:
                    held = conn.execute(select(func.count()).select_from(messages)).scalar_one()
                grown = {
                    k: round((v - before[name].get(k, 0)) / args.messages)
                    for k, v in sorted(after.items(), key=lambda kv: -kv[1])
                    if v - before[name].get(k, 0) > 0
                }
                result[name] = {"held": held, "total": sum(grown.values()), "objects": grown}
            result["envelope_bytes"] = round(envelope_size(sender))
            for name, node in ((SENDER, sender), (RECEIVER, receiver)):
                result[name]["columns"] = column_sizes(node)
        finally:
            sender.stop()
            receiver.stop()
            for schema in schemas:
                dialect.drop_schema(args.store, schema)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
