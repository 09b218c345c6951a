"""Composing, sending, reading and following messages: the rules a user meets first.

``submit`` applies the rules of sharing before anything is queued: a refusal comes back at
once with every reason and nothing is stored. An accepted message is stored, signed once
per destination node and queued in one transaction, then the link's sender is woken.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from secureline.crypto.errors import CryptoError
from secureline.crypto.jwe import encrypt_for
from secureline.domain.addresses import Address
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import DomainError
from secureline.domain.message import (
    Draft,
    Header,
    Message,
    compose,
    parse_draft,
    parse_header,
)
from secureline.domain.policy import ALERT_NEEDS_REVIEW, PolicyContext, Reason, Stage, decide
from secureline.domain.vocabulary import HandlingCode
from secureline.services.accounts import Principal, Role
from secureline.services.alert_review import AlertReview, HeldAlert
from secureline.services.audit import AuditLog
from secureline.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NoRoute,
    NotFoundError,
    Refused,
)
from secureline.services.idempotency import Replay, Submitted
from secureline.services.line.capabilities import KIND_NOT_SUPPORTED
from secureline.services.line.directory import Directory
from secureline.services.line.evidence import issue
from secureline.services.line.identity import NodeIdentity
from secureline.services.line.wire import (
    EvidenceItem,
    EvidenceKind,
    envelope_digest,
    envelope_payload,
    sign_message_envelope,
)
from secureline.services.permissions import check_grants
from secureline.store import idempotency as key_store
from secureline.store import line as line_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store.database import Database
from secureline.store.errors import StoreError

DEFAULT_RETENTION = timedelta(days=5 * 365)  # Interpol's default review period


@dataclass(frozen=True)
class Opened:
    header: Header
    content: dict[str, Any] | None  # None: purged, or H3 conditions not yet acknowledged
    first_read: bool


@dataclass(frozen=True)
class Status:
    header: Header
    deliveries: list[message_store.DeliveryState]
    evidence: list[message_store.EvidenceRow]


def new_message_id() -> str:
    """``msg-``, the creation time in milliseconds (12 hex digits), 12 random hex digits.

    Time first, so that an id made later sorts later: the indexes keyed by message id
    (messages, envelopes, deliveries, retention, audit records) then grow at their end. With
    random ids every insert lands on a random index page, and a store of some hundred thousand
    messages writes a page per index per message: the line slowed down as its store filled.
    48 random bits keep apart the ids made in one millisecond."""
    return f"msg-{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


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
    ) -> None:
        self._identity = identity
        self._db = db
        self._directory = directory
        self._audit = audit
        self._clock = clock
        self._wake = wake
        self._require_alert_review = require_alert_review
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
        """Submit several messages in one transaction (national systems send in bulk)."""
        self.check_may_send(principal)
        return self.send(principal, drafts, principal.unit, keys=keys)

    def send(
        self,
        principal: Principal,
        drafts: Sequence[dict[str, Any] | Draft],
        unit: str,
        also: Callable[[Any, list[Message]], list[AuditEvent]] | None = None,
        keys: Sequence[str | None] | None = None,
    ) -> list[Submitted]:
        """Prepare, store and queue, from ``unit``; ``also`` writes more rows in the same
        transaction. Public for the services that send on a user's behalf (sharing.py).

        ``keys`` are the client's idempotency keys, one (or None) per draft: a draft whose key
        this user already submitted is not sent again; its first result is returned."""
        if not keys or not any(keys):
            return self._send(principal, drafts, unit, also)
        for attempt in (1, 2):
            replay = Replay(self._db, principal.username, drafts, keys)
            try:
                fresh = self._send(
                    principal, [drafts[i] for i in replay.fresh], unit, also, replay.rows
                )
            except Conflict:
                # Another worker stored one of these keys since we looked (its primary key
                # refused ours, and nothing of this call was stored): look again, once.
                if attempt == 2 or not key_store.lookup(
                    self._db, principal.username, [k for k in keys if k]
                ):
                    raise
                continue
            return replay.merge(fresh)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        principal: Principal,
        drafts: Sequence[dict[str, Any] | Draft],
        unit: str,
        also: Callable[[Any, list[Message]], list[AuditEvent]] | None = None,
        remember: Callable[[list[Submitted], datetime], list[key_store.KeyRow]] | None = None,
    ) -> list[Submitted]:
        now = self._clock()
        reviews_by_route: dict[tuple[str, ...], date] = {}  # a bulk submission repeats routes
        # Step by step across the batch, as the inbox checks envelopes (LineInbox._examine):
        # each step's code and data stay in the processor's caches from one message to the
        # next. The first draft that fails a step stops the submission, as one at a time would.
        parsed = [self._read_draft(d) for d in drafts]
        messages = [self._compose(d, now, unit, reviews_by_route) for d in parsed]
        contexts: dict[tuple[str, frozenset[str]], PolicyContext] = {}  # per hop and grants
        prepared = [(m, *self._route(principal, m, now, contexts)) for m in messages]
        signed = [[self._envelope(m, destination) for destination in h] for m, h, _ in prepared]
        rows, deliveries, events = [], [], []
        reviews: list[tuple[str, date]] = []
        for (message, hops, held), envelopes in zip(prepared, signed, strict=True):
            header = message.header
            if header.review_date is not None:
                reviews.append((header.id, header.review_date))
            rows.append(
                message_store.MessageRow(
                    id=header.id,
                    direction="out",
                    sender=str(header.sender),
                    origin_node=self._identity.name,
                    header_json=orjson.dumps(message.stored_json).decode(),
                    content_json=message.content_bytes.decode(),
                    content_jwe=None,
                    envelope=None,
                    created_at=header.created_at,
                    stored_at=now,
                )
            )
            for (destination, hop), envelope in zip(hops.items(), envelopes, strict=True):
                deliveries.append(
                    line_store.NewDelivery(header.id, destination, hop, envelope, "[]")
                )
            events.append(
                AuditEvent(
                    principal.username,
                    AuditAction.MESSAGE_CREATED,
                    header.id,
                    "held" if held else "queued",
                    {
                        "to": ",".join(str(a) for a in header.to),
                        "kind": header.kind.value,
                        **({"reason": ALERT_NEEDS_REVIEW} if held else {}),
                    },
                )
            )
        submitted = [Submitted(m.header.id, tuple(h), held) for m, h, held in prepared]
        if not submitted:
            return []
        try:
            with self._db.transaction() as conn:
                if remember is not None:  # first: a key another worker stored fails at once
                    key_store.remember(conn, remember(submitted, now))
                message_store.insert_messages(conn, rows)
                retention_store.schedule(conn, reviews)
                line_store.queue_deliveries(
                    conn, [d for d, (_, _, held) in _pair(deliveries, prepared) if not held], now
                )
                held_rows = [d for d, (_, _, held) in _pair(deliveries, prepared) if held]
                if held_rows:
                    line_store.queue_deliveries(conn, held_rows, now, state="held")
                if also is not None:
                    events += also(conn, [m for m, _, _ in prepared])
                self._audit.record(conn, events)
        except StoreError as exc:
            raise Conflict(f"could not store the message: {exc}") from None
        self._wake({d.next_hop for d in deliveries})
        return submitted

    def check_may_send(self, principal: Principal) -> None:
        if principal.role not in (Role.OFFICER, Role.SYSTEM, Role.ADMIN):
            raise Forbidden(f"role {principal.role} cannot send messages")

    @staticmethod
    def _read_draft(data: dict[str, Any] | Draft) -> Draft:
        try:
            return data if isinstance(data, Draft) else parse_draft(data)
        except DomainError as exc:
            raise InvalidInput(exc.field, exc.reason, code=exc.code) from None

    def _compose(
        self, draft: Draft, now: datetime, unit: str, reviews_by_route: dict[tuple[str, ...], date]
    ) -> Message:
        try:
            return compose(
                draft,
                message_id=new_message_id(),
                sender=Address(unit, self._identity.name),
                now=now,
                default_review_date=self._default_review_date(draft, now, reviews_by_route),
            )
        except DomainError as exc:
            raise InvalidInput(exc.field, exc.reason, code=exc.code) from None

    def _route(
        self,
        principal: Principal,
        message: Message,
        now: datetime,
        contexts: dict[tuple[str, frozenset[str]], PolicyContext],
    ) -> tuple[dict[str, str], bool]:
        """The next hop per destination node, and whether the message waits for review; or
        Refused with every reason (recorded in the audit chain)."""
        header = message.header
        hops: dict[str, str] = {}
        # Grants travel inside the signed header; only those whose provider signature verifies
        # count for the decision, and each one that does not is a reason naming it.
        valid_grants, grant_reasons = check_grants(
            header.forwarded, self._directory.verify_keys, now
        )
        reasons: list[Reason] = []
        held = False
        for destination in header.destination_nodes:
            if destination == self._identity.name:
                raise InvalidInput(
                    "to", "local delivery is not supported: address a unit on another node"
                )
            hop = self._directory.next_hop(destination)
            if hop is None:
                raise NoRoute(f"no route to node {destination!r}: pin it as a peer or add a route")
            if header.confidential and self._directory.peer(destination) is None:
                raise NoRoute(f"no encryption key pinned for {destination!r}: cannot encrypt to it")
            context = contexts.get((hop, valid_grants))
            if context is None:  # immutable, verified facts only: shared across the batch
                context = contexts[(hop, valid_grants)] = PolicyContext(
                    node=self._identity.name,
                    stage=Stage.SUBMIT,
                    now=now,
                    link_out=self._directory.link_terms(hop),
                    requires_alert_review=self._require_alert_review,
                    alert_approved=False,  # a new message: nobody has reviewed it yet
                    valid_grant_ids=valid_grants,
                )
            # A kind the next hop or the destination did not state it supports (its peer
            # file): the user learns it now, not from a refusal on arrival (unknown_kind).
            lacking = self._directory.lacking(header.kind, hop, destination)
            if lacking:
                reasons += [Reason(KIND_NOT_SUPPORTED, text) for text in lacking]
            decision = decide(header, context)
            # The four-eyes rule is met by holding the alert for a second officer (approve
            # releases it) rather than by refusing it: the rule decides, the hold carries it out.
            held = held or ALERT_NEEDS_REVIEW in decision.codes
            reasons += [r for r in decision.reasons if r.code != ALERT_NEEDS_REVIEW]
            hops[destination] = hop
        reasons += grant_reasons
        if reasons:
            self._audit.append(
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.MESSAGE_REFUSED,
                        header.id,
                        "refused",
                        {"reasons": ",".join(r.code for r in reasons)},
                    )
                ]
            )
            raise Refused(reasons)
        return hops, held

    def _default_review_date(
        self, draft: Draft, now: datetime, known: dict[tuple[str, ...], date]
    ) -> date:
        """Five years, or less where a link the message leaves on allows less."""
        nodes = tuple(dict.fromkeys(a.node for a in draft.to))
        review = known.get(nodes)
        if review is None:
            days = [DEFAULT_RETENTION.days]
            for node in nodes:
                hop = self._directory.next_hop(node)
                agreement = self._directory.agreement(hop).agreement if hop else None
                if agreement is not None:
                    days.append(agreement.retention_max_days)
            review = known[nodes] = (now + timedelta(days=min(days))).date()
        return review

    def _envelope(self, message: Message, destination: str) -> str:
        jwe = None
        if message.header.confidential:
            peer = self._directory.peer(destination)
            assert peer is not None
            try:
                jwe = encrypt_for(message.content_bytes, peer.encryption)
            except (CryptoError, ValueError) as exc:
                raise InvalidInput("content", f"cannot be encrypted: {exc}") from None
        return sign_message_envelope(
            envelope_payload(message, destination, jwe), self._identity.signing
        )

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
        page = message_store.mailbox_page(self._db, principal.unit, after, limit)
        return [(seq, parse_header(orjson.loads(row.header_json))) for seq, row in page]

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
            line_store.save_evidence(conn, token_id, self._identity.name, token, [], now)
            line_store.queue_evidence(conn, hop, [token], now)
        self._wake({hop})

    def status(self, principal: Principal, message_id: str) -> Status:
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(f"no outgoing message {message_id}")
        header = parse_header(orjson.loads(row.header_json))
        if principal.role not in (Role.ADMIN, Role.DPO) and header.sender.unit != principal.unit:
            raise NotFoundError(f"no outgoing message {message_id}")
        return Status(
            header,
            message_store.delivery_states(self._db, message_id),
            message_store.evidence_for(self._db, message_id),
        )


def _pair(
    deliveries: list[line_store.NewDelivery], prepared: list[tuple[Message, dict[str, str], bool]]
) -> list[tuple[line_store.NewDelivery, tuple[Message, dict[str, str], bool]]]:
    by_id = {m.header.id: (m, h, held) for m, h, held in prepared}
    return [(d, by_id[d.message_id]) for d in deliveries]


def _content(text: str | None) -> dict[str, Any] | None:
    return orjson.loads(text) if text is not None else None
