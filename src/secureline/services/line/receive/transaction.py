"""Stage 1: the transaction as a whole (its id, size and form, idempotence, the link's
agreement). What fails here refuses the whole transaction with a LineError (an HTTP status
and a code); nothing of it is stored."""

from __future__ import annotations

import hashlib
import re
import threading

from secureline.services.line.receive.state import Receiver
from secureline.services.line.settings import LineError
from secureline.services.line.wire import Transaction, parse_transaction
from secureline.store import line as line_store

TXN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def check_bounds(r: Receiver, txn_id: str, body: bytes) -> str:
    """The body's SHA-256 (what idempotence compares), once its id and size are allowed."""
    if TXN_ID.fullmatch(txn_id) is None:
        raise LineError(400, "bad_transaction_id", "transaction ids are 8-64 of [A-Za-z0-9_-]")
    if len(body) > r.settings.max_batch_bytes:
        raise LineError(413, "batch_too_large", f"over {r.settings.max_batch_bytes} bytes")
    return hashlib.sha256(body).hexdigest()


def lock_for(r: Receiver, peer: str) -> threading.Lock:
    """One transaction in flight per peer: its id is looked up and stored under this lock."""
    with r.locks_guard:
        return r.peer_locks.setdefault(peer, threading.Lock())


def replayed(r: Receiver, peer: str, txn_id: str, digest: str) -> bytes | None:
    """The stored answer of a transaction received before, or None when it is new."""
    stored = line_store.stored_transaction(r.db, peer, txn_id)
    if stored is None:
        return None
    if stored[0] != digest:
        raise LineError(409, "transaction_conflict", f"{txn_id} was used for another body")
    return stored[1]


def parse(r: Receiver, body: bytes) -> Transaction:
    return parse_transaction(body, r.settings.max_batch_messages)


def agreement(r: Receiver, peer: str, peer_digest: str | None) -> str:
    """This node's agreement digest for the link, once the peer sent the same one."""
    ours = r.directory.agreement_digest(peer)
    if ours is None:
        raise LineError(403, "no_agreement", r.directory.agreement(peer).problem or "")
    if peer_digest != ours:
        raise LineError(
            409,
            "agreement_mismatch",
            f"this node holds agreement digest {ours}, the peer sent {peer_digest}",
        )
    return ours
