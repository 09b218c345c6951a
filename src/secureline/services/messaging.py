"""Composing, sending, reading and following messages: the rules a user meets first.

``submit`` applies the rules of sharing before anything is queued: a refusal comes back at
once with every reason and nothing is stored. An accepted message is stored, signed once
per destination node and queued in one transaction, then the link's sender is woken.
``submit_batch`` does the same for many drafts at once, answering each on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import DomainError
from secureline.domain.message import Draft, Header, parse_draft, parse_header
from secureline.domain.policy import Reason
from secureline.domain.vocabulary import HandlingCode
from secureline.services import roles
from secureline.services.alert_review import AlertReview, HeldAlert
from secureline.services.audit import AuditLog
from secureline.services.errors import (
    Conflict,
    InvalidInput,
    NotFoundError,
    ServiceError,
    error_json,
)
from secureline.services.idempotency import Replay, Submitted
from secureline.services.kinds import registry as kinds
from secureline.services.line.directory import Directory
from secureline.services.line.evidence import issue
from secureline.services.line.identity import NodeIdentity
from secureline.services.line.wire import EvidenceItem, EvidenceKind, envelope_digest
from secureline.services.roles import Principal
from secureline.services.submission import Also, Submitter
from secureline.store import idempotency as key_store
from secureline.store import messages as message_store
from secureline.store.database import Database
from secureline.store.line import evidence as evidence_store
from secureline.store.messages import SentKey
from secureline.store.paging import Keyset, Page

#: the most drafts one batch submission takes ([api] max_batch)
DEFAULT_MAX_BATCH = 500
T = TypeVar("T")


@dataclass(frozen=True)
class Opened:
    header: Header
    content: dict[str, Any] | None  # None: purged, or H3 conditions not yet acknowledged
    first_read: bool


@dataclass(frozen=True)
class Listed:
    """A message in a list a person looks at: its header and where it stands."""

    header: Header
    read_at: datetime | None  # received: when it was first opened here
    states: tuple[str, ...] = ()  # sent: one delivery state per destination


@dataclass(frozen=True)
class Status:
    header: Header
    deliveries: list[message_store.DeliveryState]
    evidence: list[message_store.EvidenceRow]


@dataclass(frozen=True)
class Checked:
    """What the rules would decide for a draft not sent (:meth:`Messaging.check`): the
    destination nodes, whether it would wait for a second officer, and every reason it
    would be refused for (none: it may leave)."""

    destinations: tuple[str, ...]
    held: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Outcome:
    """One draft's answer in a batch: what was submitted, or the error that refused it (and
    nothing of that draft was stored)."""

    index: int
    submitted: Submitted | None
    error: ServiceError | None

    def as_json(self) -> dict[str, Any]:
        """The API's and the CLI's one shape: ``{index, status, message, error}``."""
        done, error = self.submitted, self.error
        return {
            "index": self.index,
            "status": "accepted" if done is not None else "refused",
            "message": None
            if done is None
            else {
                "id": done.id,
                "destinations": list(done.destinations),
                "held_for_review": done.held_for_review,
            },
            "error": None if error is None else error_json(error),
        }


class Messaging:
    def __init__(
        self,
        identity: NodeIdentity,
        db: Database,
        directory: Directory,
        audit: AuditLog,
        clock: Callable[[], datetime],
        wake: Callable[[set[str]], None],
        *,
        require_alert_review: bool,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._identity = identity
        self._db = db
        self._directory = directory
        self._audit = audit
        self._clock = clock
        self._wake = wake
        self._submitter = Submitter(
            identity, db, directory, audit, wake, require_alert_review=require_alert_review
        )
        self.max_batch = max_batch
        self.review = AlertReview(identity.name, db, audit, clock, wake)

    # --- sending ------------------------------------------------------------------------

    def submit(self, principal: Principal, data: dict[str, Any] | Draft) -> Submitted:
        return self.submit_many(principal, [data])[0]

    def submit_many(
        self,
        principal: Principal,
        drafts: Sequence[dict[str, Any] | Draft],
        keys: Sequence[str | None] | None = None,
    ) -> list[Submitted]:
        """Submit several messages in one transaction, all or none (the line's benchmark)."""
        self.check_may_send(principal)
        return self.send(principal, drafts, principal.unit, keys=keys)

    def submit_batch(
        self,
        principal: Principal,
        drafts: Sequence[dict[str, Any] | Draft],
        keys: Sequence[str | None] | None = None,
    ) -> list[Outcome]:
        """Submit up to ``max_batch`` drafts, each answered on its own, in the order given: a
        draft refused by the rules (or with no route) is left out and the others are stored,
        signed and queued in one transaction, with the refusals' audit records.

        A draft that cannot be parsed, or two drafts with one key, refuse the whole batch
        (InvalidInput naming ``[index].field``): nothing is stored."""
        self.check_may_send(principal)
        if len(drafts) > self.max_batch:
            raise InvalidInput(
                "",
                f"{len(drafts)} drafts: at most {self.max_batch} in one batch",
                code="batch_too_long",
            )
        parsed = [self._read_draft(principal, d, f"[{i}].") for i, d in enumerate(drafts)]
        if not keys or not any(keys):
            return self._batch(principal, parsed, None)
        return self._retrying(
            principal,
            keys,
            lambda: self._batch(
                principal, parsed, Replay(self._db, principal.username, parsed, keys, lenient=True)
            ),
        )

    def send(
        self,
        principal: Principal,
        drafts: Sequence[dict[str, Any] | Draft],
        unit: str,
        also: Also | None = None,
        keys: Sequence[str | None] | None = None,
    ) -> list[Submitted]:
        """Prepare, store and queue, from ``unit``, all or none; ``also`` writes more rows in
        the same transaction. Public for the services that send on a user's behalf
        (sharing.py).

        ``keys`` are the client's idempotency keys, one (or None) per draft: a draft whose key
        this user already submitted is not sent again; its first result is returned."""
        if not keys or not any(keys):
            return self._send(principal, drafts, unit, also)

        def attempt() -> list[Submitted]:
            replay = Replay(self._db, principal.username, drafts, keys)
            fresh = [drafts[i] for i in replay.fresh]
            return replay.merge(self._send(principal, fresh, unit, also, replay))

        return self._retrying(principal, keys, attempt)

    def _retrying(
        self, principal: Principal, keys: Sequence[str | None], attempt: Callable[[], T]
    ) -> T:
        try:
            return attempt()
        except Conflict:
            # Another worker stored one of these keys since we looked (its primary key refused
            # ours, and nothing of this call was stored): look again, once.
            if not key_store.lookup(self._db, principal.username, [k for k in keys if k]):
                raise
        return attempt()

    def _send(
        self,
        principal: Principal,
        drafts: Sequence[dict[str, Any] | Draft],
        unit: str,
        also: Also | None = None,
        replay: Replay | None = None,
    ) -> list[Submitted]:
        now = self._clock()
        parsed = [self._read_draft(principal, d) for d in drafts]
        ready, _ = self._submitter.prepare(principal, list(enumerate(parsed)), unit, now, None)
        submitted = [r.submitted for r in ready]
        if not submitted:
            return []
        # all or none: the drafts sent are the fresh ones, in their order
        keys = replay.rows(zip(replay.fresh, submitted, strict=True), now) if replay else []
        self._submitter.commit(principal, ready, now, keys, [], also)
        return submitted

    def _batch(
        self, principal: Principal, drafts: Sequence[Draft], replay: Replay | None
    ) -> list[Outcome]:
        now = self._clock()
        outcomes: dict[int, Outcome] = {}
        fresh: Sequence[int] = range(len(drafts))
        if replay is not None:
            outcomes |= {i: Outcome(i, done, None) for i, done in replay.answered.items()}
            outcomes |= {i: Outcome(i, None, error) for i, error in replay.reused.items()}
            fresh = replay.fresh
        refused: dict[int, ServiceError] = {}
        ready, refusals = self._submitter.prepare(
            principal, [(i, drafts[i]) for i in fresh], principal.unit, now, refused
        )
        outcomes |= {i: Outcome(i, None, error) for i, error in refused.items()}
        outcomes |= {r.index: Outcome(r.index, r.submitted, None) for r in ready}
        if ready or refusals:
            keys = replay.rows([(r.index, r.submitted) for r in ready], now) if replay else []
            self._submitter.commit(principal, ready, now, keys, refusals)
        return [outcomes[i] for i in range(len(drafts))]

    def check(self, principal: Principal, data: dict[str, Any] | Draft) -> Checked:
        """The rules of sharing on a draft as :meth:`submit` would apply them, each
        destination's agreement included, without sending it: nothing is signed, stored,
        queued or recorded (the refusal on sending is). What the desk says before sending."""
        self.check_may_send(principal)
        draft = self._read_draft(principal, data)
        hops, held, reasons = self._submitter.examine(draft, principal.unit, self._clock())
        return Checked(tuple(hops), held, tuple(reasons))

    def check_may_send(self, principal: Principal) -> None:
        roles.require(principal, roles.Action.SEND, f"role {principal.role} cannot send messages")

    @staticmethod
    def _read_draft(principal: Principal, data: dict[str, Any] | Draft, where: str = "") -> Draft:
        try:
            draft = data if isinstance(data, Draft) else parse_draft(data)
        except DomainError as exc:
            raise InvalidInput(where + exc.field, exc.reason, code=exc.code) from None
        # what its kind asks (services/kinds): who may send it, and its payload
        kinds.check_submitted(principal, draft.kind, draft.body, where)
        return draft

    # --- four eyes (services/alert_review.py) -------------------------------------------

    def approve_alert(self, principal: Principal, message_id: str) -> None:
        """Four eyes: an alert held for review leaves only when a second user approves it."""
        self.review.approve(principal, message_id)

    def reject_alert(self, principal: Principal, message_id: str, reason: str) -> list[str]:
        """Four eyes: a second user refuses a held alert for good (``alert_rejected``)."""
        return self.review.reject(principal, message_id, reason)

    def held_alerts(self, principal: Principal) -> list[HeldAlert]:
        """The alerts waiting for a second user, oldest first."""
        return self.review.held(principal)

    # --- reading ------------------------------------------------------------------------

    def inbox(
        self, principal: Principal, after: int = 0, limit: int = 50
    ) -> list[tuple[int, Header]]:
        if not 1 <= limit <= 500:
            raise InvalidInput("limit", "must be between 1 and 500")
        page = message_store.mailbox_headers(self._db, principal.unit, after, limit)
        return [(seq, parse_header(orjson.loads(header))) for seq, header in page]

    def latest(self, principal: Principal, limit: int = 100) -> tuple[list[Listed], int]:
        """The unit's newest received messages, newest first, and how many are unread."""
        page, unread = self.inbox_listing(principal, Keyset(), limit)
        return page.rows, unread

    def inbox_listing(
        self, principal: Principal, keyset: Keyset[int], limit: int = 50
    ) -> tuple[Page[Listed, int], int]:
        """A page of the unit's received messages, newest first, by mailbox seq (the API
        inbox's cursor), and how many are unread in all."""
        _check_limit(limit)
        found = message_store.mailbox_listing(self._db, principal.unit, keyset, limit)
        unread = message_store.unread_count(self._db, principal.unit)
        rows = [Listed(parse_header(orjson.loads(r.header_json)), r.read_at) for _, r in found.rows]
        return Page(rows, found.older, found.newer), unread

    def sent(self, principal: Principal, limit: int = 100) -> list[Listed]:
        """The newest messages the unit sent from this node, with their delivery states."""
        return self.sent_listing(principal, Keyset(), limit).rows

    def sent_listing(
        self, principal: Principal, keyset: Keyset[SentKey], limit: int = 50
    ) -> Page[Listed, SentKey]:
        """A page of what the unit sent from this node, newest first, by (created_at, id),
        with each message's delivery states."""
        _check_limit(limit)
        sender = f"{principal.unit}@{self._identity.name}"
        found = message_store.sent_listing(self._db, sender, keyset, limit)
        states = message_store.delivery_states_of(self._db, [r.id for r in found.rows])
        rows = [
            Listed(parse_header(orjson.loads(r.header_json)), None, tuple(states.get(r.id, ())))
            for r in found.rows
        ]
        return Page(rows, found.older, found.newer)

    def open(
        self, principal: Principal, message_id: str, *, acknowledge_conditions: bool = False
    ) -> Opened:
        """Show a message to a member of a recipient unit; the first opening sends a read
        acknowledgement to the origin. H3 content is shown only once its conditions are
        acknowledged."""
        row = message_store.get_message(self._db, message_id)
        if row is None:
            raise NotFoundError(f"no message {message_id}")
        header = parse_header(orjson.loads(row.header_json))
        if row.direction == "out":
            if header.sender.unit != principal.unit:
                raise NotFoundError(f"no message {message_id}")
            return Opened(header, _content(row.content_json), first_read=False)
        if row.direction != "in" or not message_store.in_mailbox(
            self._db, principal.unit, message_id
        ):
            raise NotFoundError(f"no message {message_id}")
        if header.handling is HandlingCode.H3 and not acknowledge_conditions:
            return Opened(header, None, first_read=False)
        now = self._clock()
        with self._db.transaction() as conn:
            first = message_store.mark_read(conn, message_id, now)
            events = [
                AuditEvent(
                    principal.username,
                    AuditAction.MESSAGE_READ,
                    message_id,
                    "ok",
                    {
                        "unit": principal.unit,
                        "conditions_acknowledged": str(acknowledge_conditions),
                    },
                )
            ]
            if first:
                self._acknowledge_read(conn, header, row.envelope or "", now)
            self._audit.record(conn, events)
        return Opened(header, _content(row.content_json), first_read=first)

    def _acknowledge_read(self, conn: Any, header: Header, envelope: str, now: datetime) -> None:
        origin = header.sender.node
        hop = self._directory.next_hop(origin)
        if hop is None:
            return  # the origin is unreachable now; the read stays recorded here and in audit
        item = EvidenceItem(
            header.id, origin, self._identity.name, EvidenceKind.READ, envelope_digest(envelope)
        )
        checkpoint = self._audit.evidence_checkpoint()
        for token_id, token, _ in issue(self._identity, [item], now, checkpoint, batch_for=""):
            evidence_store.save_evidence(conn, token_id, self._identity.name, token, [], now)
            evidence_store.queue_evidence(conn, hop, [token], now)
        self._wake({hop})

    def status(self, principal: Principal, message_id: str) -> Status:
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(f"no outgoing message {message_id}")
        header = parse_header(orjson.loads(row.header_json))
        if not roles.oversees(principal, header.sender.unit):
            raise NotFoundError(f"no outgoing message {message_id}")
        return Status(
            header,
            message_store.delivery_states(self._db, message_id),
            message_store.evidence_for(self._db, message_id),
        )


def _content(text: str | None) -> dict[str, Any] | None:
    return orjson.loads(text) if text is not None else None


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= 500:
        raise InvalidInput("limit", "must be between 1 and 500")
