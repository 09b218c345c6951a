"""The node's audit chain: append, checkpoint, verify, export, and cross-anchor with partners.

Errors (one tree; ``code`` is stable and goes into API answers)::

    AuditError            "audit_error"          refused input
    ├── PartnerCheckpointRefused "checkpoint_..."  a partner checkpoint not kept (forged,
    │                                            about another node, out of the store's range)
    └── AuditChainBroken  "audit_chain_broken"   a record or checkpoint is wrong; ``seq`` names
                                                 the first one, ``reason`` says what is wrong

Every security-relevant action calls :meth:`AuditLog.record` with the connection of its own
transaction, so the action and its record commit together or not at all. Each record is
chained to the previous by SHA-256 (see :mod:`secureline.domain.audit` for the exact bytes)
and whenever the seq crosses a multiple of ``checkpoint_every``, or ``checkpoint_seconds``
after its last checkpoint, the node signs the head.
Evidence sent over the line carries our latest checkpoint; partners keep it, and we keep
theirs (:meth:`AuditLog.store_partner_checkpoint`), so neither side can later rewrite its
history without the other holding a signature that contradicts the rewrite.

An append signs only when one of those is due at that moment, so the last records before a
quiet spell would wait unsigned for the next append: a running node calls
:meth:`AuditLog.checkpoint_if_due` on a timer, which signs them once they have waited
``checkpoint_seconds``. :meth:`AuditLog.checkpoint` signs the head at once.

Lock order, everywhere: the database transaction first (on SQLite it takes the write lock at
``BEGIN``), then the in-process append lock. Taking them the other way round would let a
checkpoint hold the append lock while it waits for the write lock that an appending
transaction holds while it waits for the append lock.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Connection

from secureline.crypto.envelope import sign_envelope, verify_envelope
from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import SigningKey, VerifyKey
from secureline.domain.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEvent,
    AuditRecord,
    CheckpointStatement,
    InvalidAuditData,
    checkpoint_payload,
    decode_detail,
    encode_detail,
    parse_checkpoint_payload,
    record_hash,
)
from secureline.store import audit as store
from secureline.store.database import Database

log = logging.getLogger(__name__)

__all__ = [
    "CHECKPOINT_TYP",
    "CSV_COLUMNS",
    "AuditError",
    "AuditChainBroken",
    "Checkpoint",
    "AuditLog",
    "UnsafeNoAudit",
    "UnsafeNoAuditWarning",
    "read_export",
]

CHECKPOINT_TYP = "secureline-checkpoint+jws"
CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "object",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)
ExportFormat = Literal["jsonl", "csv"]
_VERIFIED_CACHE = 4096


class AuditError(Exception):
    """The audit service refused or could not do what was asked."""

    code = "audit_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PartnerCheckpointRefused(AuditError):
    """A partner's checkpoint we do not keep; ``code`` says why (docs/protocol.md §6):
    ``checkpoint_<crypto code>`` (its signature), ``checkpoint_malformed`` (its payload),
    ``checkpoint_wrong_node`` (about another node), ``checkpoint_out_of_range`` (a value the
    store cannot hold, such as a seq of 2^63)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AuditChainBroken(AuditError):
    """The chain is not what was written: ``seq`` names the first wrong record."""

    code = "audit_chain_broken"

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"audit chain broken at record {seq}: {reason}")
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: ``node``'s chain had head ``head_hash`` at ``seq`` (time ``at``)."""

    node: str
    seq: int
    head_hash: str
    at: datetime
    token: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_record(row: store.RecordRow) -> AuditRecord:
    try:
        detail = decode_detail(row.detail_json)
    except InvalidAuditData as exc:
        raise AuditChainBroken(row.seq, f"detail is unreadable ({exc.reason})") from None
    return AuditRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object=row.object,
        outcome=row.outcome,
        detail=detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


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


class _ChainWalker:
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
    current: store.Head | None, walker: _ChainWalker, seen_head: store.Head | None
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


class AuditLog:
    """One node's audit chain. Thread-safe; several workers may share one PostgreSQL store."""

    def __init__(
        self,
        db: Database,
        node: str,
        signer: SigningKey,
        *,
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
        verify_keys: Mapping[str, VerifyKey] | None = None,
    ) -> None:
        """``verify_keys`` are our own current and retired keys (default: the signer's)."""
        if checkpoint_every < 1 or checkpoint_seconds <= 0:
            raise ValueError("checkpoints need a positive record count and interval")
        self.db = db
        self.node = node
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.clock = clock
        self.verify_keys: Mapping[str, VerifyKey] = (
            dict(verify_keys) if verify_keys is not None else {signer.kid: signer.verify_key()}
        )
        self._lock = threading.Lock()
        self._last_signed_at: datetime | None = None
        # Partner checkpoint tokens whose signature we checked: the same checkpoint rides
        # on every evidence document until the partner signs the next one.
        self._verified_partner: dict[tuple[str, str], CheckpointStatement] = {}

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise AuditError("the audit clock must return timezone-aware times")
        return now.astimezone(UTC)

    # --- appending ----------------------------------------------------------------------

    def record(self, conn: Connection, events: Sequence[AuditEvent]) -> None:
        """Append ``events`` in the caller's transaction; call it last in that transaction.

        It takes the append lock (the head row), which is held until the caller commits.
        """
        if not events:
            return
        with self._lock:
            current = store.head(conn, for_update=True)
            if current is None:
                store.create_head(conn, GENESIS_HASH)
                current = store.head(conn, for_update=True)
                if current is None:  # pragma: no cover - the insert above just made it
                    raise AuditError("audit head could not be created")
            seq, prev = current
            now = self._now()
            rows = []
            for event in events:
                seq += 1
                detail = event.detail or {}
                action = event.action.value
                digest = record_hash(
                    prev, seq, now, event.actor, action, event.object, event.outcome, detail
                )
                rows.append(
                    store.RecordRow(
                        seq,
                        now,
                        event.actor,
                        action,
                        event.object,
                        event.outcome,
                        encode_detail(detail),
                        prev,
                        digest,
                    )
                )
                prev = digest
            store.append(conn, rows)
            new_head = store.Head(seq, prev)
            store.set_head(conn, new_head)
            if self._checkpoint_due(conn, current.seq, seq, now):
                self._sign(conn, new_head, now)

    def _checkpoint_due(self, conn: Connection, old_seq: int, new_seq: int, now: datetime) -> bool:
        """Due when the batch crosses a multiple of N, or T seconds after our last signature.

        Multiples of N rather than "N after the last": the head alone decides, so several
        workers agree without reading the checkpoints on every append. The time is kept in
        memory (read once from the store): if the transaction that signed is rolled back,
        the next time-based checkpoint merely comes T later.
        """
        every = self.checkpoint_every
        if new_seq // every > old_seq // every:
            return True
        if self._last_signed_at is None:
            last = store.latest_checkpoint(conn)
            self._last_signed_at = last.at if last is not None else now
        return (now - self._last_signed_at).total_seconds() >= self.checkpoint_seconds

    def append(self, events: Sequence[AuditEvent]) -> None:
        """Append in a transaction of its own (for events with nothing else to write)."""
        with self.db.transaction() as conn:
            self.record(conn, events)

    # --- checkpoints --------------------------------------------------------------------

    def _sign(self, conn: Connection, at_head: store.Head, now: datetime) -> Checkpoint:
        token = sign_envelope(
            checkpoint_payload(self.node, at_head.seq, at_head.hash, now),
            self.signer,
            typ=CHECKPOINT_TYP,
        )
        store.save_checkpoint(conn, store.CheckpointRow(at_head.seq, now, at_head.hash, token))
        self._last_signed_at = now
        return Checkpoint(self.node, at_head.seq, at_head.hash, now, token)

    def checkpoint(self) -> Checkpoint:
        """Sign the head now; if the head has not moved since the last one, return that."""
        with self.db.transaction() as conn, self._lock:
            current = store.head(conn, for_update=True) or store.Head(0, GENESIS_HASH)
            last = store.latest_checkpoint(conn)
            if last is not None and last.seq == current.seq:
                return Checkpoint(self.node, last.seq, last.head_hash, last.at, last.token)
            return self._sign(conn, current, self._now())

    def checkpoint_if_due(self) -> Checkpoint | None:
        """Sign the head if its oldest unsigned record has waited ``checkpoint_seconds``;
        None when nothing waits that long (what the running node's timer calls)."""
        with self.db.read() as conn:  # the common case, nothing to sign, takes no write lock
            if not self._unsigned_too_long(conn):
                return None
        with self.db.transaction() as conn, self._lock:
            if not self._unsigned_too_long(conn):  # another worker signed it meanwhile
                return None
            current = store.head(conn, for_update=True)
            assert current is not None  # a record waits, so the chain has a head
            return self._sign(conn, current, self._now())

    def _unsigned_too_long(self, conn: Connection) -> bool:
        """Whether the first record after our latest checkpoint is ``checkpoint_seconds`` old."""
        last = store.latest_checkpoint(conn)
        after = last.seq if last is not None else 0
        first = next(store.iter_records(conn, from_seq=after + 1, page_size=1), None)
        if first is None:
            return False
        return (self._now() - first.at).total_seconds() >= self.checkpoint_seconds

    def latest_checkpoint(self) -> Checkpoint | None:
        """Our newest checkpoint."""
        last = store.latest_checkpoint(self.db)
        if last is None:
            return None
        return Checkpoint(self.node, last.seq, last.head_hash, last.at, last.token)

    def evidence_checkpoint(self) -> str | None:
        """What every evidence document we issue carries: our newest checkpoint's token, or
        None before the first one (cross-anchoring, docs/protocol.md section 6)."""
        last = store.latest_checkpoint(self.db)
        return last.token if last is not None else None

    def _check_own_checkpoint(self, row: store.CheckpointRow, record_hash_at_seq: str) -> None:
        try:
            envelope = verify_envelope(row.token, self.verify_keys, typ=CHECKPOINT_TYP)
            statement = parse_checkpoint_payload(envelope.payload)
        except CryptoError as exc:
            raise AuditChainBroken(
                row.seq, f"checkpoint signature does not verify ({exc.code})"
            ) from None
        except InvalidAuditData as exc:
            raise AuditChainBroken(row.seq, f"checkpoint payload is invalid ({exc})") from None
        if (statement.node, statement.seq, statement.head_hash, statement.at) != (
            self.node,
            row.seq,
            row.head_hash,
            row.at,
        ):
            raise AuditChainBroken(row.seq, "checkpoint row differs from what was signed")
        if statement.head_hash != record_hash_at_seq:
            raise AuditChainBroken(
                row.seq, "checkpoint was signed over a different head than the record's hash"
            )

    # --- verification -------------------------------------------------------------------

    def verify(self) -> None:
        """Check every record and checkpoint; raise :class:`AuditChainBroken` at the first bad.

        Steps, in seq order: seq contiguous from 1; ``prev_hash`` links; recomputed hash
        equals the stored one; each checkpoint verifies with our keys, says what its row
        says, and names the hash of the record at its seq; the head names the last record.
        Reads page by page, so appends may continue meanwhile: they only extend the chain,
        and the head is read last and followed until it stops moving.
        """
        walker = _ChainWalker()
        checkpoints = store.iter_checkpoints(self.db)
        pending = next(checkpoints, None)
        if pending is not None and pending.seq == 0:
            self._check_own_checkpoint(pending, GENESIS_HASH)
            pending = next(checkpoints, None)
        seen_head: store.Head | None = None
        while True:
            for row in store.iter_records(self.db, from_seq=walker.expected_seq):
                walker.feed(_to_record(row))
                # A checkpoint is checked once the record after it has been read, so that a
                # record inserted or deleted there is named as such, not as a bad checkpoint.
                while pending is not None and pending.seq < walker.last_seq:
                    if pending.seq != walker.last_seq - 1 or walker.prev_prev_hash is None:
                        raise AuditChainBroken(pending.seq, "checkpoint at an impossible seq")
                    self._check_own_checkpoint(pending, walker.prev_prev_hash)
                    pending = next(checkpoints, None)
            walker.finish()
            if pending is not None and pending.seq == walker.last_seq:
                self._check_own_checkpoint(pending, walker.prev_hash)
                pending = next(checkpoints, None)
            with self.db.read() as conn:
                current = store.head(conn, for_update=False)
            if not _head_moved_on(current, walker, seen_head):
                break
            seen_head = current  # records were appended while we read; follow them
        if pending is not None:
            raise AuditChainBroken(pending.seq, "checkpoint names a record that does not exist")

    # --- the data protection officer's tools --------------------------------------------

    def records(
        self, from_at: datetime | None = None, to_at: datetime | None = None
    ) -> Iterator[AuditRecord]:
        """Records with ``from_at <= at < to_at``, oldest first."""
        for row in store.iter_records(self.db, from_at=from_at, to_at=to_at):
            yield _to_record(row)

    def export(
        self,
        from_at: datetime | None,
        to_at: datetime | None,
        fmt: ExportFormat,
        *,
        actor: str | None = None,
    ) -> Iterator[str]:
        """Lines of JSON objects (ending ``\\n``) or RFC 4180 CSV (``\\r\\n``, header first).

        Read them back with :func:`read_export`, or from a file opened with ``newline=""``.
        With ``actor`` (the CLI and the API pass one), the export itself is first recorded
        as ``audit.exported``, object this node, detail the range and format.

        Values are exported exactly, never escaped for spreadsheets: the export is evidence
        whose hashes must verify. Open CSV exports as text, not by double-clicking.
        """
        if fmt not in ("jsonl", "csv"):
            raise AuditError(f"unknown export format {fmt!r}")
        if actor is not None:
            detail = {
                "from": from_at.isoformat() if from_at else "",
                "to": to_at.isoformat() if to_at else "",
                "format": fmt,
            }
            self.append([AuditEvent(actor, AuditAction.AUDIT_EXPORTED, self.node, "ok", detail)])
        return self._export(from_at, to_at, fmt)

    def _export(
        self, from_at: datetime | None, to_at: datetime | None, fmt: ExportFormat
    ) -> Iterator[str]:
        records = self.records(from_at, to_at)
        if fmt == "jsonl":
            for record in records:
                yield _jsonl_safe(orjson.dumps(record.to_dict()).decode()) + "\n"
        elif fmt == "csv":
            yield _csv_line(CSV_COLUMNS)
            for record in records:
                data = record.to_dict()
                data["detail"] = encode_detail(record.detail)
                yield _csv_line(tuple(str(data[column]) for column in CSV_COLUMNS))
        else:
            raise AuditError(f"unknown export format {fmt!r}")

    def who_read(self, message_id: str) -> list[AuditRecord]:
        """Every ``message.read`` record of a message, oldest first."""
        rows = store.records_for_object(self.db, message_id, AuditAction.MESSAGE_READ.value)
        return [_to_record(row) for row in rows]

    def records_for_object(self, obj: str) -> list[AuditRecord]:
        return [_to_record(row) for row in store.records_for_object(self.db, obj)]

    # --- cross-anchoring ----------------------------------------------------------------

    def store_partner_checkpoint(
        self,
        peer: str,
        token: str,
        peer_keys: Mapping[str, VerifyKey],
        *,
        conn: Connection | None = None,
    ) -> Checkpoint:
        """Verify a partner's checkpoint with ITS keys and keep it as proof of its history.

        1. the JWS verifies with one of ``peer_keys``, typ checkpoint  -> AuditError
        2. the payload is a canonical checkpoint statement             -> AuditError
        3. the statement is about ``peer``                             -> AuditError
        4. if we already hold one for that seq, its head is the same   -> AuditChainBroken

        Idempotent. With ``conn`` it is kept in the caller's transaction (the line keeps it
        with the evidence that carried it); a token verified before is not verified again.
        """
        statement = self._verified_partner.get((peer, token))
        if statement is None:
            try:
                envelope = verify_envelope(token, peer_keys, typ=CHECKPOINT_TYP)
            except CryptoError as exc:
                raise PartnerCheckpointRefused(
                    f"checkpoint_{exc.code}", f"checkpoint from {peer} refused: {exc.code}: {exc}"
                ) from None
            try:
                statement = parse_checkpoint_payload(envelope.payload)
            except InvalidAuditData as exc:
                raise PartnerCheckpointRefused(
                    "checkpoint_malformed", f"checkpoint from {peer} refused: {exc}"
                ) from None
            if statement.node != peer:
                raise PartnerCheckpointRefused(
                    "checkpoint_wrong_node",
                    f"checkpoint from {peer} is about node {statement.node[:100]!r}",
                )
            if len(self._verified_partner) >= _VERIFIED_CACHE:
                self._verified_partner.clear()
            self._verified_partner[(peer, token)] = statement
        row = store.PartnerCheckpointRow(
            peer=peer,
            seq=statement.seq,
            at=statement.at,
            head_hash=statement.head_hash,
            token=token,
            received_at=self._now(),
        )
        try:
            # Signed and well formed is not enough: what is kept must fit the store's columns
            # (a seq of 2^63 would raise OverflowError from the driver, mid-transaction).
            kept = store.save_partner_checkpoint(self.db if conn is None else conn, row)
        except store.UnfitPartnerCheckpoint as exc:
            raise PartnerCheckpointRefused(
                "checkpoint_out_of_range", f"checkpoint from {peer} refused: {exc}"
            ) from None
        if kept.head_hash != statement.head_hash:
            raise AuditChainBroken(
                statement.seq,
                f"{peer} signed two different heads for this record (kept the first)",
            )
        return Checkpoint(peer, kept.seq, kept.head_hash, kept.at, kept.token)

    def partner_checkpoints(self, peer: str) -> list[Checkpoint]:
        """The partner's checkpoints we keep, oldest first."""
        return [
            Checkpoint(peer, row.seq, row.head_hash, row.at, row.token)
            for row in store.partner_checkpoints(self.db, peer)
        ]

    def partners(self) -> list[str]:
        """The partners whose checkpoints we keep, by name."""
        return store.partner_names(self.db)

    def check_partner_export(self, peer: str, records: Iterable[AuditRecord]) -> list[Checkpoint]:
        """Check a partner's full export (from seq 1) against EVERY checkpoint of it we keep.

        One pass over the records. Raises :class:`AuditChainBroken`: at the first record that
        does not chain (exact); else at the first checkpoint whose signed head the records do
        not reach (history rewritten between the previous matching checkpoint and this one;
        ``seq`` is the checkpoint's, the reason names the range); or where records end
        before a checkpoint (withheld). Returns the checkpoints that matched. Records after
        the last checkpoint are chained but not yet vouched for by a partner signature.
        """
        checkpoints = self.partner_checkpoints(peer)
        if not checkpoints:
            raise AuditError(f"we hold no checkpoint of {peer}")
        wanted = {cp.seq for cp in checkpoints}
        heads: dict[int, str] = {0: GENESIS_HASH}
        walker = _ChainWalker()
        for record in records:
            walker.feed(record)
            if walker.last_seq in wanted:
                heads[walker.last_seq] = walker.prev_hash
        walker.finish()
        good = 0
        for cp in checkpoints:
            if cp.seq not in heads:
                raise AuditChainBroken(
                    walker.last_seq + 1,
                    f"records end at {walker.last_seq}, before {peer}'s checkpoint at "
                    f"{cp.seq}: history withheld",
                )
            if heads[cp.seq] != cp.head_hash:
                raise AuditChainBroken(
                    cp.seq,
                    f"{peer} signed head {cp.head_hash} at record {cp.seq} on "
                    f"{cp.at.isoformat()}, but its records now hash to {heads[cp.seq]}: "
                    f"history was rewritten in records {good + 1}..{cp.seq}",
                )
            good = cp.seq
        return checkpoints

    @staticmethod
    def check_against_partner_checkpoint(
        records: Iterable[AuditRecord], checkpoint: Checkpoint
    ) -> None:
        """Check a partner's exported records (from seq 1) against a checkpoint it signed.

        Raises :class:`AuditChainBroken` if the records are not a chain, or if the chain
        does not reach the checkpoint's seq with the head the partner signed then: the
        partner rewrote (or withheld) its history at or before that seq.
        """
        walker = _ChainWalker()
        if checkpoint.seq == 0:
            if checkpoint.head_hash != GENESIS_HASH:
                raise AuditChainBroken(0, "checkpoint of the empty chain names a non-genesis head")
            return
        for record in records:
            walker.feed(record)
            if walker.last_seq == checkpoint.seq:
                break
        walker.finish()
        if walker.last_seq < checkpoint.seq:
            raise AuditChainBroken(
                walker.last_seq + 1,
                f"records end before the checkpoint at {checkpoint.seq}: history withheld",
            )
        if walker.prev_hash != checkpoint.head_hash:
            raise AuditChainBroken(
                checkpoint.seq,
                f"{checkpoint.node} signed head {checkpoint.head_hash} at this record on "
                f"{checkpoint.at.isoformat()}, but its records now hash to {walker.prev_hash}: "
                "history was rewritten at or before this record",
            )


class UnsafeNoAudit(AuditLog):
    """An audit log that RECORDS NOTHING. For ``secureline bench line --no-audit`` only.

    It exists to measure what the audit chain costs the line (issue 5 allows 10%). A node
    built with it keeps no accountability at all: no records, so no checkpoints either, and
    its evidence carries none for partners to keep. It warns (``UnsafeNoAuditWarning``)
    and logs an error when constructed. Nothing in the product constructs it; never use it
    outside the benchmark.
    """

    def __init__(self, db: Database, node: str, signer: SigningKey, **kwargs: Any) -> None:
        super().__init__(db, node, signer, **kwargs)
        message = f"{node}: UnsafeNoAudit: this node records NO audit events (benchmark only)"
        log.error(message)
        warnings.warn(message, UnsafeNoAuditWarning, stacklevel=2)

    def record(self, conn: Connection, events: Sequence[AuditEvent]) -> None:
        return None


class UnsafeNoAuditWarning(UserWarning):
    """A node runs without its audit chain (the benchmark's ``--no-audit``)."""


def _csv_line(values: Sequence[str]) -> str:
    # RFC 4180 line ends: the writer then quotes every field holding \r or \n.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


#: Characters that JSON allows raw but that str.splitlines() (and some editors) break on.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _jsonl_safe(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def read_export(lines: Iterable[str], fmt: ExportFormat) -> Iterator[AuditRecord]:
    """Parse an export (ours or a partner's) back into records; raises :class:`AuditError`.

    ``lines`` may be the export's lines, any chunks of it, or the whole text as one string.
    """
    if isinstance(lines, str):
        lines = [lines]
    try:
        if fmt == "jsonl":
            for line in _split_lines(lines):
                if line.strip():
                    yield AuditRecord.from_dict(orjson.loads(line))
        elif fmt == "csv":
            reader = csv.reader(_split_lines(lines))
            header = next(reader, None)
            if header is None or tuple(header) != CSV_COLUMNS:
                raise AuditError(f"CSV export must start with the header {CSV_COLUMNS}")
            for values in reader:
                if len(values) != len(CSV_COLUMNS):
                    raise AuditError(f"CSV row has {len(values)} columns")
                data: dict[str, object] = dict(zip(CSV_COLUMNS, values, strict=True))
                data["seq"] = int(values[0]) if values[0].isdigit() else values[0]
                data["detail"] = decode_detail(values[6])
                yield AuditRecord.from_dict(data)
        else:
            raise AuditError(f"unknown export format {fmt!r}")
    except orjson.JSONDecodeError:
        raise AuditError("export line is not JSON") from None
    except InvalidAuditData as exc:
        raise AuditError(f"export record is invalid: {exc}") from None


def _split_lines(lines: Iterable[str]) -> Iterator[str]:
    # csv wants an iterable of lines; callers may hand us chunks with several lines each.
    for chunk in lines:
        yield from io.StringIO(chunk, newline="")
