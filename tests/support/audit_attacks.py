"""Attacks on the audit chain that tests at several levels replay."""

from __future__ import annotations

from sqlalchemy import delete, update

from secureline.crypto.envelope import sign_envelope
from secureline.crypto.keys import SigningKey
from secureline.domain.audit import GENESIS_HASH, checkpoint_payload, decode_detail, record_hash
from secureline.services.audit import CHECKPOINT_TYP, AuditLog
from secureline.store import audit as store


def rewrite_history(log: AuditLog, key: SigningKey, seq: int, actor: str) -> None:
    """What a node's administrator holding the node key could do: a consistent rewrite."""
    db = log.db
    rows = list(store.iter_records(db))
    checkpoints = list(store.iter_checkpoints(db))
    table = store.audit_records
    with db.transaction() as conn:
        prev = rows[seq - 2].hash if seq > 1 else GENESIS_HASH
        new_hashes = {0: GENESIS_HASH}
        for row in rows[seq - 1 :]:
            new_actor = actor if row.seq == seq else row.actor
            digest = record_hash(
                prev,
                row.seq,
                row.at,
                new_actor,
                row.action,
                row.object,
                row.outcome,
                decode_detail(row.detail_json),
            )
            conn.execute(
                update(table)
                .where(table.c.seq == row.seq)
                .values(actor=new_actor, prev_hash=prev, hash=digest)
            )
            new_hashes[row.seq] = digest
            prev = digest
        store.set_head(conn, store.Head(rows[-1].seq, prev))
        conn.execute(delete(store.audit_checkpoints))
        for cp in checkpoints:
            head_hash = new_hashes.get(cp.seq, cp.head_hash)
            token = sign_envelope(
                checkpoint_payload(log.node, cp.seq, head_hash, cp.at), key, typ=CHECKPOINT_TYP
            )
            store.save_checkpoint(conn, store.CheckpointRow(cp.seq, cp.at, head_hash, token))
