"""Checking a chain: our own (:func:`verify_chain`) or a partner's export (through
:class:`ChainWalker`), naming the first wrong record and what is wrong with it."""

from __future__ import annotations

from collections.abc import Mapping

from secureline.crypto.envelope import verify_envelope
from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import VerifyKey
from secureline.domain.audit import (
    GENESIS_HASH,
    AuditRecord,
    InvalidAuditData,
    parse_checkpoint_payload,
    record_hash,
)
from secureline.services.audit.errors import AuditChainBroken
from secureline.services.audit.rows import CHECKPOINT_TYP, to_record
from secureline.store import audit as store
from secureline.store.database import Database

__all__ = ["ChainWalker", "verify_chain"]


def _hash_at(record: AuditRecord, seq: int) -> str | None:
    """The record's hash had it been written at ``seq`` (None if it cannot be encoded)."""
    try:
        return record_hash(
            record.prev_hash,
            seq,
            record.at,
            record.actor,
            record.action,
            record.object,
            record.outcome,
            record.detail,
        )
    except InvalidAuditData:
        return None


def _diagnose(record: AuditRecord, prev_hash: str, prev_prev_hash: str | None) -> AuditChainBroken:
    """Name the first wrong record when ``record`` (at its expected seq) does not fit.

    A record that hashes correctly at a DIFFERENT seq proves the rows were renumbered,
    which points at the record inserted or deleted before it, not at this one.
    """
    seq = record.seq
    if (
        prev_prev_hash is not None
        and record.prev_hash == prev_prev_hash
        and _hash_at(record, seq - 1) == record.hash
    ):
        return AuditChainBroken(seq - 1, _INSERTED)
    if _hash_at(record, seq + 1) == record.hash:
        return AuditChainBroken(
            seq, f"the record here belongs at seq {seq + 1}: one is missing or out of order"
        )
    if record.prev_hash != prev_hash:
        return AuditChainBroken(seq, "prev_hash does not link to the previous record")
    return AuditChainBroken(seq, "hash does not match the record's contents")


_INSERTED = "record is not part of the chain: the next one links past it (inserted)"
_REWRITTEN = "record was rewritten: the next record links to a different hash"


class ChainWalker:
    """Checks records one by one in seq order, from seq 1 and the genesis hash.

    A record whose hash is right but whose ``prev_hash`` names another predecessor is a
    *suspect*: either its predecessor was rewritten (and re-hashed), or it was forged and
    slipped in. The next record decides: if that one links past the suspect, the suspect
    was inserted; otherwise the predecessor was rewritten. :meth:`finish` decides for a
    suspect at the end of the records.
    """

    def __init__(self) -> None:
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.prev_prev_hash: str | None = None
        self.suspect: int | None = None

    @property
    def last_seq(self) -> int:
        return self.expected_seq - 1

    def feed(self, record: AuditRecord) -> None:
        if self.suspect is not None:
            if record.seq == self.suspect + 1 and record.prev_hash == self.prev_prev_hash:
                raise AuditChainBroken(self.suspect, _INSERTED)
            self.finish()
        if record.seq != self.expected_seq:
            if record.seq > self.expected_seq:
                raise AuditChainBroken(self.expected_seq, "record is missing")
            raise AuditChainBroken(record.seq, "records are not in seq order")
        own = _hash_at(record, record.seq)
        if record.prev_hash != self.prev_hash or own != record.hash:
            if own != record.hash or record.seq == 1:
                raise _diagnose(record, self.prev_hash, self.prev_prev_hash)
            self.suspect = record.seq
        self.prev_prev_hash = self.prev_hash
        self.prev_hash = record.hash
        self.expected_seq += 1

    def finish(self) -> None:
        """Decide a pending suspect: no record follows it to say it was inserted."""
        if self.suspect is not None:
            raise AuditChainBroken(self.suspect - 1, _REWRITTEN)


def _head_moved_on(
    current: store.Head | None, walker: ChainWalker, seen_head: store.Head | None
) -> bool:
    """Compare the head with the records read: True if more records must be read first."""
    if current is None:
        if walker.last_seq == 0:
            return False
        raise AuditChainBroken(walker.last_seq, "audit head is missing")
    if current.seq > walker.last_seq:
        if current == seen_head:
            # The head and its records commit together, so a second pass that found
            # nothing new means the records up to the head are gone.
            raise AuditChainBroken(walker.expected_seq, "record is missing")
        return True
    if current.seq < walker.last_seq:
        raise AuditChainBroken(current.seq + 1, "record lies beyond the audit head")
    if current.hash != walker.prev_hash:
        raise AuditChainBroken(current.seq, "audit head names a different hash")
    return False


def _check_own_checkpoint(
    row: store.CheckpointRow,
    record_hash_at_seq: str,
    node: str,
    verify_keys: Mapping[str, VerifyKey],
) -> None:
    try:
        envelope = verify_envelope(row.token, verify_keys, typ=CHECKPOINT_TYP)
        statement = parse_checkpoint_payload(envelope.payload)
    except CryptoError as exc:
        raise AuditChainBroken(
            row.seq, f"checkpoint signature does not verify ({exc.code})"
        ) from None
    except InvalidAuditData as exc:
        raise AuditChainBroken(row.seq, f"checkpoint payload is invalid ({exc})") from None
    if (statement.node, statement.seq, statement.head_hash, statement.at) != (
        node,
        row.seq,
        row.head_hash,
        row.at,
    ):
        raise AuditChainBroken(row.seq, "checkpoint row differs from what was signed")
    if statement.head_hash != record_hash_at_seq:
        raise AuditChainBroken(
            row.seq, "checkpoint was signed over a different head than the record's hash"
        )


def verify_chain(db: Database, node: str, verify_keys: Mapping[str, VerifyKey]) -> None:
    """Check every record and checkpoint; raise :class:`AuditChainBroken` at the first bad.

    Steps, in seq order: seq contiguous from 1; ``prev_hash`` links; recomputed hash
    equals the stored one; each checkpoint verifies with our keys, says what its row
    says, and names the hash of the record at its seq; the head names the last record.
    Reads page by page, so appends may continue meanwhile: they only extend the chain,
    and the head is read last and followed until it stops moving.
    """
    walker = ChainWalker()
    checkpoints = store.iter_checkpoints(db)
    pending = next(checkpoints, None)
    if pending is not None and pending.seq == 0:
        _check_own_checkpoint(pending, GENESIS_HASH, node, verify_keys)
        pending = next(checkpoints, None)
    seen_head: store.Head | None = None
    while True:
        for row in store.iter_records(db, from_seq=walker.expected_seq):
            walker.feed(to_record(row))
            # A checkpoint is checked once the record after it has been read, so that a
            # record inserted or deleted there is named as such, not as a bad checkpoint.
            while pending is not None and pending.seq < walker.last_seq:
                if pending.seq != walker.last_seq - 1 or walker.prev_prev_hash is None:
                    raise AuditChainBroken(pending.seq, "checkpoint at an impossible seq")
                _check_own_checkpoint(pending, walker.prev_prev_hash, node, verify_keys)
                pending = next(checkpoints, None)
        walker.finish()
        if pending is not None and pending.seq == walker.last_seq:
            _check_own_checkpoint(pending, walker.prev_hash, node, verify_keys)
            pending = next(checkpoints, None)
        with db.read() as conn:
            current = store.head(conn, for_update=False)
        if not _head_moved_on(current, walker, seen_head):
            break
        seen_head = current  # records were appended while we read; follow them
    if pending is not None:
        raise AuditChainBroken(pending.seq, "checkpoint names a record that does not exist")
