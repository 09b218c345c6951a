"""The node's audit chain: append and checkpoint here; verify, export and the partners'
checkpoints in the sibling modules, reached through :class:`AuditLog`'s methods.

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

import logging
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from secureline.crypto.envelope import sign_envelope
from secureline.crypto.keys import SigningKey, VerifyKey
from secureline.domain.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEvent,
    AuditRecord,
    checkpoint_payload,
    encode_detail,
    record_hash,
)
from secureline.services.audit.errors import AuditError
from secureline.services.audit.export import ExportFormat, check_format, export_lines
from secureline.services.audit.partners import (
    PartnerCheckpoints,
    check_against_partner_checkpoint,
)
from secureline.services.audit.rows import CHECKPOINT_TYP, Checkpoint, to_record
from secureline.services.audit.verify import verify_chain
from secureline.store import audit as store
from secureline.store.database import Database
from secureline.store.paging import Keyset, Page

log = logging.getLogger(__name__)

__all__ = ["AuditLog", "UnsafeNoAudit", "UnsafeNoAuditWarning"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        self._partners = PartnerCheckpoints(db, self._now)

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

    # --- verification -------------------------------------------------------------------

    def verify(self) -> None:
        """Check every record and checkpoint; raise :class:`AuditChainBroken` at the first bad
        (the steps: :func:`~secureline.services.audit.verify.verify_chain`)."""
        verify_chain(self.db, self.node, self.verify_keys)

    # --- the data protection officer's tools --------------------------------------------

    def records(
        self, from_at: datetime | None = None, to_at: datetime | None = None
    ) -> Iterator[AuditRecord]:
        """Records with ``from_at <= at < to_at``, oldest first."""
        for row in store.iter_records(self.db, from_at=from_at, to_at=to_at):
            yield to_record(row)

    def export(
        self,
        from_at: datetime | None,
        to_at: datetime | None,
        fmt: ExportFormat,
        *,
        actor: str | None = None,
    ) -> Iterator[str]:
        """Lines of JSON objects (ending ``\\n``) or RFC 4180 CSV (``\\r\\n``, header first).

        Read them back with :func:`~secureline.services.audit.export.read_export`, or from a
        file opened with ``newline=""``.
        With ``actor`` (the CLI and the API pass one), the export itself is first recorded
        as ``audit.exported``, object this node, detail the range and format.

        Values are exported exactly, never escaped for spreadsheets: the export is evidence
        whose hashes must verify. Open CSV exports as text, not by double-clicking.
        """
        check_format(fmt)
        if actor is not None:
            detail = {
                "from": from_at.isoformat() if from_at else "",
                "to": to_at.isoformat() if to_at else "",
                "format": fmt,
            }
            self.append([AuditEvent(actor, AuditAction.AUDIT_EXPORTED, self.node, "ok", detail)])
        return export_lines(self.records(from_at, to_at), fmt)

    def who_read(self, message_id: str) -> list[AuditRecord]:
        """Every ``message.read`` record of a message, oldest first."""
        rows = store.records_for_object(self.db, message_id, AuditAction.MESSAGE_READ.value)
        return [to_record(row) for row in rows]

    def find(
        self,
        *,
        actor: str | None = None,
        obj: str | None = None,
        action: str | None = None,
        from_at: datetime | None = None,
        to_at: datetime | None = None,
        keyset: Keyset[int] | None = None,
        limit: int = 200,
    ) -> Page[AuditRecord, int]:
        """A page of ``limit`` records by ``actor``, about ``obj``, of ``action``, with
        ``from_at <= at < to_at`` (each filter optional), newest first; the newest unless
        ``keyset`` says where (by seq: store/paging.py)."""
        found = store.latest_records(
            self.db,
            actor=actor,
            obj=obj,
            action=action,
            from_at=from_at,
            to_at=to_at,
            keyset=keyset,
            limit=limit,
        )
        return Page([to_record(row) for row in found.rows], found.older, found.newer)

    def records_for_object(self, obj: str) -> list[AuditRecord]:
        return [to_record(row) for row in store.records_for_object(self.db, obj)]

    # --- cross-anchoring (secureline.services.audit.partners) ---------------------------

    def store_partner_checkpoint(
        self,
        peer: str,
        token: str,
        peer_keys: Mapping[str, VerifyKey],
        *,
        conn: Connection | None = None,
    ) -> Checkpoint:
        """Verify a partner's checkpoint with ITS keys and keep it as proof of its history
        (the steps: :meth:`PartnerCheckpoints.store`)."""
        return self._partners.store(peer, token, peer_keys, conn=conn)

    def partner_checkpoints(self, peer: str) -> list[Checkpoint]:
        """The partner's checkpoints we keep, oldest first."""
        return self._partners.of(peer)

    def partners(self) -> list[str]:
        """The partners whose checkpoints we keep, by name."""
        return self._partners.names()

    def check_partner_export(self, peer: str, records: Iterable[AuditRecord]) -> list[Checkpoint]:
        """Check a partner's full export against every checkpoint of it we keep
        (:meth:`PartnerCheckpoints.check_export`)."""
        return self._partners.check_export(peer, records)

    check_against_partner_checkpoint = staticmethod(check_against_partner_checkpoint)


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
