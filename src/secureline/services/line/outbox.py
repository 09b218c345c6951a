"""The sending side of the line: one sender per link, durable, never giving up silently.

A sender takes the oldest due envelopes for its link (and evidence waiting to travel that
way), pushes them as one transaction, and writes what the answer proves in one database
transaction. A failure postpones the batch with exponential backoff and jitter; the
transaction id is derived from the batch, so a retry of the same batch is the same
transaction and the peer replays its stored answer.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import orjson

from secureline.services.audit import AuditLog
from secureline.services.line import custody
from secureline.services.line.directory import Directory, Peer
from secureline.services.line.settings import LineSettings
from secureline.services.line.transport import LineTransport, TransportError
from secureline.services.line.wire import envelope_digest
from secureline.store import line as line_store
from secureline.store import peers as peer_store
from secureline.store.database import Database

log = logging.getLogger(__name__)
IDLE_WAIT_SECONDS = 1.0
CONTACT_NOTE_SECONDS = 5.0


class LinkSender:
    def __init__(
        self,
        node: str,
        peer: str,
        db: Database,
        directory: Directory,
        transport: LineTransport,
        audit: AuditLog,
        settings: LineSettings,
        clock: Callable[[], datetime],
        concurrency: int = 2,
    ) -> None:
        self.node = node
        self.peer = peer
        self._db = db
        self._directory = directory
        self._transport = transport
        self._audit = audit
        self._settings = settings
        self._clock = clock
        # Two transactions in flight: the peer verifies one batch while the next is on the
        # wire, so neither side waits for the other. The peer still processes one
        # transaction per origin at a time.
        self._concurrency = concurrency
        self._wakes = [threading.Event() for _ in range(concurrency)]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._evidence_lock = threading.Lock()
        self._contact_noted: datetime | None = None
        self._contact_digest: str | None = None
        self._failures = 0
        self._batch_limit = settings.max_batch_messages

    def start(self) -> None:
        for n in range(self._concurrency):
            thread = threading.Thread(
                target=self._run, args=(n,), name=f"sender-{self.peer}-{n}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def wake(self) -> None:
        for event in self._wakes:
            event.set()

    def stop(self) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def _run(self, worker: int) -> None:
        wake = self._wakes[worker]
        while not self._stop.is_set():
            try:
                worked = self.send_once()
            except Exception:  # a sender must survive anything and try again later
                log.exception("sender for %s failed; retrying", self.peer)
                worked = False
                self._failures += 1
            if not worked:
                wake.wait(self._idle_wait())
                wake.clear()

    def _idle_wait(self) -> float:
        if self._failures == 0:
            return IDLE_WAIT_SECONDS
        return min(self._backoff(self._failures), IDLE_WAIT_SECONDS * 5)

    def _backoff(self, attempts: int) -> float:
        base = min(
            self._settings.retry_max_seconds,
            self._settings.retry_initial_seconds * (2 ** min(attempts, 20)),
        )
        return float(base * (0.5 + random.random() / 2))  # noqa: S311 (jitter, not a secret)

    def send_once(self) -> bool:
        """Push one batch; True when there was something to send and it went."""
        peer = self._directory.peer(self.peer)
        if peer is None or not peer.direct:
            return False
        now = self._clock()
        batch = line_store.claim_deliveries(
            self._db, self.peer, now, self._batch_limit, self._settings.max_batch_bytes // 2
        )
        # Evidence rows have no claim state: one worker at a time takes them.
        evidence: list[tuple[int, str]] = []
        has_evidence = self._evidence_lock.acquire(blocking=False)
        try:
            if has_evidence:
                evidence = line_store.claim_evidence(
                    self._db, self.peer, now, max(1, self._batch_limit - len(batch))
                )
            if not batch and not evidence:
                return False
            return self._push(peer, batch, evidence)
        finally:
            if has_evidence:
                self._evidence_lock.release()

    def _push(
        self, peer: Peer, batch: list[line_store.QueuedDelivery], evidence: list[tuple[int, str]]
    ) -> bool:
        seqs = [d.seq for d in batch]
        body = orjson.dumps(
            {
                "v": 1,
                "envelopes": [
                    {"token": d.envelope, "path": [*orjson.loads(d.path), self.node]} for d in batch
                ],
                "evidence": [token for _, token in evidence],
            }
        )
        # Derived from the body: a retry of the same batch is the same transaction (the peer
        # replays its stored answer); row ids are not used because SQLite reuses them.
        txn_id = _txn_id(self.node, body)
        reported: str | None = None
        try:
            answer = self._transport.push(
                peer, txn_id, body, self._directory.agreement_digest(self.peer)
            )
            reported = answer.peer_agreement
            if answer.status == 413 and self._batch_limit > 1:
                self._batch_limit = max(1, self._batch_limit // 2)
                raise TransportError(f"{self.peer} refused the batch size; halving it")
            if answer.status != 200:
                raise TransportError(
                    f"{self.peer} answered {answer.status} {answer.error_code}: "
                    f"{answer.body[:300]!r}"
                )
            self._take_answer(peer, answer.body, batch, [s for s, _ in evidence])
        except TransportError as exc:
            self._failures += 1
            self._postpone(seqs)
            peer_store.record_contact(
                self._db, self.peer, self._clock(), error=str(exc), agreement_digest=reported
            )
            self._contact_noted = None  # the next success is written at once
            log.warning("line to %s: %s", self.peer, exc)
            return False
        except Exception:
            # Whatever else failed (the store, say), the batch must not stay `sent` until the
            # next restart: it goes again after the backoff, and the worker logs the error.
            self._postpone(seqs)
            raise
        self._failures = 0
        self._note_contact(reported)
        return True

    def _note_contact(self, reported: str | None) -> None:
        """Record a healthy contact; at most every few seconds while nothing changes, since
        each record is a committed (fsynced) transaction on the hot path."""
        now = self._clock()
        last = self._contact_noted
        unchanged = reported == self._contact_digest
        if unchanged and last is not None and (now - last).total_seconds() < CONTACT_NOTE_SECONDS:
            return
        peer_store.record_contact(self._db, self.peer, now, error=None, agreement_digest=reported)
        self._contact_noted, self._contact_digest = now, reported

    def _postpone(self, seqs: list[int]) -> None:
        if seqs:
            not_before = self._clock() + timedelta(seconds=self._backoff(self._failures))
            line_store.postpone(self._db, seqs, not_before)

    def _take_answer(
        self,
        peer: Peer,
        body: bytes,
        batch: list[line_store.QueuedDelivery],
        evidence_seqs: list[int],
    ) -> None:
        try:
            data = orjson.loads(body)
            tokens = data["evidence"]
            if not isinstance(tokens, list):
                raise TypeError("evidence must be a list")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise TransportError(f"{peer.name} answered with a malformed body: {exc}") from None
        intake = custody.check(tokens, self._directory)
        if intake.rejected:
            raise TransportError(
                f"{peer.name} answered with evidence we cannot verify: {intake.rejected[0]}"
            )
        now = self._clock()
        sent = {(d.message_id, d.destination): envelope_digest(d.envelope) for d in batch}
        # Evidence that other bytes than we sent arrived answers nothing: those go again.
        answered = set()
        for document in intake.documents:
            for item in document.items:
                key = (item.message_id, item.destination)
                if key in sent and custody.answers(item, sent[key]):
                    answered.add(key)
        unanswered = [d.seq for d in batch if (d.message_id, d.destination) not in answered]
        with self._db.transaction() as conn:
            events = custody.apply(
                conn,
                self.node,
                self._directory,
                intake.documents,
                now,
                audit_log=self._audit,
                sent_digests=sent,
                via=self.peer,
            )
            line_store.forget_evidence(conn, evidence_seqs)
            self._audit.record(conn, events)
        if unanswered:
            self._postpone(unanswered)


def _txn_id(node: str, body: bytes) -> str:
    digest = hashlib.sha256(node.encode() + b"|" + body).hexdigest()
    return "t" + digest[:40]
