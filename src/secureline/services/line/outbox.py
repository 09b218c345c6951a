"""The sending side of the line: one sender per link, durable, never giving up silently.

A sender takes the oldest due envelopes for its link (and evidence waiting to travel that
way), pushes them as one transaction, and writes what the answer proves in one database
transaction. The transaction id is derived from the batch, so a retry of the same batch is
the same transaction and the peer replays its stored answer.

The link's state lives in the peers table (up, down, backoff; failed attempts; the time of
the next attempt), so every worker paces its attempts by it: while a link is down or backing
off, no submission wakes an attempt, and a state change is logged once. An unreachable peer
is probed with one envelope at the backoff's pace, at least every probe_interval_seconds,
so that its queue moves within about that long once it is back. A transaction the peer
keeps failing as a whole (5xx, a broken exchange) is split, halves then halves again (the
rows' attempt counts carry the search), until the envelope that fails alone is found and
set aside as ``failed`` with the peer's answer; everything else flows.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from secureline.services.audit import AuditLog
from secureline.services.line import custody
from secureline.services.line.directory import Directory, Peer
from secureline.services.line.settings import LineSettings
from secureline.services.line.transport import LineTransport, TransportError, Unreachable
from secureline.services.line.wire import (
    UNREADABLE,
    EvidenceItem,
    EvidenceKind,
    envelope_digest,
)
from secureline.store import line as line_store
from secureline.store import peers as peer_store
from secureline.store.database import Database

log = logging.getLogger(__name__)
IDLE_WAIT_SECONDS = 1.0
CONTACT_NOTE_SECONDS = 5.0
ANSWER_EXCERPT = 300


class _Failed(TransportError):
    """The peer answered, but not with the transaction's outcome."""

    def __init__(self, message: str, code: str, *, suspect: bool) -> None:
        super().__init__(message)
        self.code = code
        # the failure may be the batch's fault (5xx): it counts towards the poison search
        self.suspect = suspect


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
        statement: str | None = None,
    ) -> None:
        self.node = node
        # this node's signed statement of what it supports, sent in every transaction
        self._statement = statement
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
        self._busy = [False] * concurrency  # a worker between its wake-up and its next wait
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._evidence_lock = threading.Lock()
        self._contact_noted: datetime | None = None
        self._contact_digest: str | None = None
        # Latency shortcuts only; the peers table is the truth every worker reads.
        self._state: str | None = None  # the link's state as this sender last recorded it
        self._paused_until = 0.0  # monotonic: no attempt (nor wake-up) before this
        self._batch_limit = settings.max_batch_messages

    def start(self) -> None:
        for n in range(self._concurrency):
            thread = threading.Thread(
                target=self._run, args=(n,), name=f"sender-{self.peer}-{n}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def wake(self) -> None:
        """Something was queued: try now, unless the link waits for its next attempt (a
        submission to a dead peer must not cost a connection attempt each)."""
        if time.monotonic() < self._paused_until:
            return
        # One idle worker is enough: it takes everything due. Waking them all made each
        # submission's commit cost an empty claim (a write transaction) by the others.
        for worker, event in enumerate(self._wakes):
            if not self._busy[worker]:
                event.set()
                return
        # All busy: each looks again once it is done, even one whose claim came up empty
        # just before this was queued.
        for event in self._wakes:
            event.set()

    def stop(self) -> None:
        self._stop.set()
        for event in self._wakes:
            event.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def _run(self, worker: int) -> None:
        wake = self._wakes[worker]
        while not self._stop.is_set():
            self._busy[worker] = True
            try:
                worked = self.send_once()
            except Exception:  # a sender must survive anything and try again later
                log.exception("sender for %s failed; retrying", self.peer)
                worked = False
                self._pause(self._backoff(1))
            finally:
                self._busy[worker] = False
            if not worked:
                wake.wait(self._idle_wait())
                wake.clear()

    def _idle_wait(self) -> float:
        paused = self._paused_until - time.monotonic()
        return min(paused, IDLE_WAIT_SECONDS * 5) if paused > 0 else IDLE_WAIT_SECONDS

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _backoff(self, attempts: int) -> float:
        base = min(
            self._settings.retry_max_seconds,
            self._settings.retry_initial_seconds * (2 ** min(attempts, 20)),
        )
        return float(base * (0.5 + random.random() / 2))  # noqa: S311 (jitter, not a secret)

    def _probe_delay(self, attempts: int) -> float:
        return min(self._backoff(attempts), self._settings.probe_interval_seconds)

    def send_once(self) -> bool:
        """Push one batch; True when there was something to send and it went."""
        peer = self._directory.peer(self.peer)
        if peer is None or not peer.direct:
            return False
        if time.monotonic() < self._paused_until:
            return False
        now = self._clock()
        state = self._state
        if state != "up":  # another worker may have found the link down: the table says
            state, not_before = peer_store.link_status(self._db, self.peer)
            if not_before is not None and _aware(not_before) > now:
                self._pause((_aware(not_before) - now).total_seconds())
                return False
        # A link found unreachable is probed with one envelope before whole batches go.
        limit = 1 if state == "down" else self._batch_limit
        batch = line_store.claim_deliveries(
            self._db,
            self.peer,
            now,
            limit,
            self._settings.max_batch_bytes // 2,
            split_after=self._settings.poison_after_failures,
        )
        if limit > 1 and len(batch) == limit:  # more may be due: a second transaction in flight
            self.wake()
        # Evidence rows have no claim state: one worker at a time takes them.
        evidence: list[tuple[int, str]] = []
        has_evidence = self._evidence_lock.acquire(blocking=False)
        try:
            if has_evidence:
                evidence = line_store.claim_evidence(
                    self._db, self.peer, now, max(1, limit - len(batch))
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
        transaction: dict[str, object] = {
            "v": 1,
            "envelopes": [
                {"token": d.envelope, "path": [*orjson.loads(d.path), self.node]} for d in batch
            ],
            "evidence": [token for _, token in evidence],
        }
        if self._statement is not None:
            transaction["capabilities"] = self._statement
        body = orjson.dumps(transaction)
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
                raise _Failed(
                    f"{self.peer} refused the batch size; halving it",
                    "batch_too_large",
                    suspect=False,
                )
            if answer.status != 200:
                raise _Failed(
                    f"{self.peer} answered {answer.status} {answer.error_code}: "
                    f"{_answer_text(answer.body)}",
                    answer.error_code or f"http_{answer.status}",
                    suspect=answer.status >= 500,
                )
            self._take_answer(peer, answer.body, batch, [s for s, _ in evidence])
        except Unreachable as exc:
            # The request never reached the peer: nothing is held against the envelopes.
            self._postpone(seqs, self._clock(), count=False)
            self._failed("down", str(exc), reported, self._probe_delay)
            return False
        except TransportError as exc:
            suspect = exc.suspect if isinstance(exc, _Failed) else True
            code = exc.code if isinstance(exc, _Failed) else "broken_exchange"
            now = self._clock()
            poison = (
                suspect
                and len(batch) == 1
                and not evidence
                and batch[0].attempts + 1 >= self._settings.poison_after_failures
            )
            if poison:  # found: the rest of the queue goes at once, with no backoff
                self._set_aside(batch[0], code, str(exc), now)
                return True
            self._postpone(seqs, now, count=suspect)
            self._failed("backoff", str(exc), reported, self._backoff)
            return False
        except Exception:
            # Whatever else failed (the store, say), the batch must not stay `sent` until the
            # next restart: it goes again after the backoff, and the worker logs the error.
            self._postpone(seqs, self._clock() + timedelta(seconds=self._backoff(1)))
            raise
        self._succeeded(reported)
        return True

    def _failed(
        self, state: str, error: str, reported: str | None, delay: Callable[[int], float]
    ) -> None:
        now = self._clock()
        change = peer_store.record_attempt(
            self._db,
            self.peer,
            now,
            state=state,
            error=error,
            delay=delay,
            agreement_digest=reported,
        )
        self._state = change.state
        self._contact_noted = None  # the next success is written at once
        if change.next_attempt_at is not None:
            self._pause((_aware(change.next_attempt_at) - now).total_seconds())
        if change.previous != change.state:  # one line per change of state, not per attempt
            what = "unreachable" if state == "down" else "backing off"
            log.warning("line to %s: %s (%s)", self.peer, what, error)

    def _succeeded(self, reported: str | None) -> None:
        if self._state == "up":
            self._note_contact(reported)
            return
        now = self._clock()
        change = peer_store.record_attempt(
            self._db, self.peer, now, state="up", agreement_digest=reported
        )
        self._state = "up"
        self._contact_noted, self._contact_digest = now, reported
        if change.previous not in (None, "up"):
            log.warning("line to %s: up again", self.peer)

    def _set_aside(
        self, delivery: line_store.QueuedDelivery, code: str, error: str, now: datetime
    ) -> None:
        line_store.set_aside(self._db, delivery.seq, code, error, now)
        log.error(
            "line to %s: %s to %s set aside as failed after %d failed transactions (%s); "
            "'secureline peer retry' or 'peer drop' decides",
            self.peer,
            delivery.message_id,
            delivery.destination,
            delivery.attempts + 1,
            code,
        )

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

    def _postpone(self, seqs: list[int], not_before: datetime, *, count: bool = True) -> None:
        if seqs:
            line_store.postpone(self._db, seqs, not_before, count=count)

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
        # what the peer states it supports, verified only when it changed (an older peer
        # states nothing: its peer file stays in force)
        self._directory.hear(peer.name, data.get("capabilities"), self._clock())
        intake = custody.check(tokens, self._directory)
        if intake.rejected:
            raise TransportError(
                f"{peer.name} answered with evidence we cannot verify: {intake.rejected[0]}"
            )
        now = self._clock()
        sent = {(d.message_id, d.destination): envelope_digest(d.envelope) for d in batch}
        # Evidence that other bytes than we sent arrived answers nothing: those go again.
        answered = set()
        by_digest = {digest: d for d in batch if (digest := sent[(d.message_id, d.destination)])}
        unreadable: list[tuple[line_store.QueuedDelivery, EvidenceItem]] = []
        for document in intake.documents:
            for item in document.items:
                key = (item.message_id, item.destination)
                if key in sent and custody.answers(item, sent[key]):
                    answered.add(key)
                elif (
                    document.issuer == peer.name
                    and item.kind is EvidenceKind.REFUSED
                    and item.message_id.startswith(UNREADABLE)
                    and item.envelope_sha256 in by_digest
                ):
                    # The hop could not read the envelope, so its refusal names only our bytes:
                    # set aside like poison (retrying the same bytes cannot help).
                    delivery = by_digest[item.envelope_sha256]
                    unreadable.append((delivery, item))
                    answered.add((delivery.message_id, delivery.destination))
        unanswered = [d.seq for d in batch if (d.message_id, d.destination) not in answered]
        # Not durable: evidence lost to a power cut leaves its deliveries sent, and after the
        # restart (requeue_sent) the peer answers them again.
        with self._db.transaction(durable=False) as conn:
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
        for delivery, item in unreadable:
            self._set_aside(
                delivery,
                item.reason_code or "refused",
                f"{peer.name} could not read it: {item.reason_text or ''}"[:300],
                now,
            )
        if unanswered:
            self._postpone(unanswered, now + timedelta(seconds=self._backoff(1)))


def _txn_id(node: str, body: bytes) -> str:
    digest = hashlib.sha256(node.encode() + b"|" + body).hexdigest()
    return "t" + digest[:40]


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _answer_text(body: bytes) -> str:
    """A peer's error answer as text for the operator (``peers.last_error``, the set-aside
    envelope's reason): the message of its error object, else the first bytes decoded."""
    try:
        message = orjson.loads(body)["error"]["message"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = None
    text = message if isinstance(message, str) else body[:ANSWER_EXCERPT].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text[:ANSWER_EXCERPT])
