"""What the cross-check's tests share: a person held, a message naming them, and waiting for
the cross-check to take a message (the node's timer or the test's own worker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from secureline.node.compose import Node
from secureline.store import hits as hits_store
from tests.integration.support import Federation, officer, sample, wait_for, wait_state

PUTIN_HELD = {
    "id": "reg-putin",
    "schema": "Person",
    "properties": {
        "name": ["Владимир Владимирович Путин"],
        "birthDate": ["1952-10-07"],
        "nationality": ["ru"],
    },
}
PUTIN_SENT = {
    "id": "e-putin",
    "schema": "Person",
    "properties": {"name": ["Vladimir Putin"], "birthDate": ["1952-10-07"]},
}
NOBODY = {
    "id": "e-nobody",
    "schema": "Person",
    "properties": {"name": ["Astrid Lindqvist"], "birthDate": ["1990-04-02"]},
}


def hold(
    node: Node,
    tmp_path: Path,
    *entities: dict[str, Any],
    unit: str = "ops",
    source: str = "national-register",
) -> None:
    path = tmp_path / f"held-{unit}.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities), "utf-8")
    node.holdings.import_file("test", path, source=source, unit=unit, handling="H2")


def send(fed: Federation, *entities: dict[str, Any], seed: int = 7, to: str = "ops@europol") -> str:
    interpol = fed["interpol"]
    draft = sample(to, seed=seed, entities=list(entities), data_subjects=["suspect"])
    message_id = interpol.messaging.submit(officer(interpol), draft).id
    wait_state(interpol, message_id, "europol", ["delivered"])
    return message_id


def checked(node: Node, message_id: str) -> None:
    """Wait until the cross-check has taken the message (the node's timer, or this worker)."""

    def done() -> bool:
        node.crosscheck.run_once()
        with node.db.read() as conn:
            queued = conn.execute(
                select(hits_store.crosscheck_pending.c.message_id).where(
                    hits_store.crosscheck_pending.c.message_id == message_id
                )
            ).first()
        return queued is None

    wait_for(done, timeout=120)
