"""Preparing a submission: compose, decide by the rules of sharing, sign, then store.

The steps every sending service shares (:mod:`.messaging` and, through it, :mod:`.sharing`),
done step by step across a batch so that the rules' context is built once per link and
grants, and everything a submission stores is written in one transaction.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import orjson

from secureline.crypto.errors import CryptoError
from secureline.crypto.jwe import encrypt_for
from secureline.domain.addresses import Address
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import DomainError
from secureline.domain.message import Draft, Message, compose
from secureline.domain.policy import ALERT_NEEDS_REVIEW, PolicyContext, Reason, Stage, decide
from secureline.services.audit import AuditLog
from secureline.services.errors import Conflict, InvalidInput, NoRoute, Refused, ServiceError
from secureline.services.idempotency import Submitted
from secureline.services.kinds import registry as kinds
from secureline.services.line.capabilities import KIND_NOT_SUPPORTED
from secureline.services.line.directory import Directory
from secureline.services.line.identity import NodeIdentity
from secureline.services.line.wire import envelope_payload, sign_message_envelope
from secureline.services.permissions import check_grants
from secureline.services.roles import Principal
from secureline.store import idempotency as key_store
from secureline.store import line as line_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store.database import Database
from secureline.store.errors import StoreError

DEFAULT_RETENTION = timedelta(days=5 * 365)  # Interpol's default review period


@dataclass(frozen=True)
class Ready:
    """A draft the rules let through: its message, the next hop per destination node,
    whether it waits for review, and its signed envelope per destination."""

    index: int
    message: Message
    hops: dict[str, str]
    held: bool
    envelopes: list[str]

    @property
    def submitted(self) -> Submitted:
        return Submitted(self.message.header.id, tuple(self.hops), self.held)


#: more rows written in a submission's transaction, given the messages it stores
Also = Callable[[Any, list[Message]], list[AuditEvent]]
T = TypeVar("T")


def new_message_id() -> str:
    """``msg-``, the creation time in milliseconds (12 hex digits), 12 random hex digits.

    Time first, so that an id made later sorts later: the indexes keyed by message id
    (messages, envelopes, deliveries, retention, audit records) then grow at their end. With
    random ids every insert lands on a random index page, and a store of some hundred thousand
    messages writes a page per index per message: the line slowed down as its store filled.
    48 random bits keep apart the ids made in one millisecond."""
    return f"msg-{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


class Submitter:
    """The node's side of every submission; the callers check who may send."""

    def __init__(
        self,
        identity: NodeIdentity,
        db: Database,
        directory: Directory,
        audit: AuditLog,
        wake: Callable[[set[str]], None],
        *,
        require_alert_review: bool,
    ) -> None:
        self._identity = identity
        self._db = db
        self._directory = directory
        self._audit = audit
        self._wake = wake
        self._require_alert_review = require_alert_review

    def prepare(
        self,
        principal: Principal,
        drafts: Sequence[tuple[int, Draft]],
        unit: str,
        now: datetime,
        refused: dict[int, ServiceError] | None,
    ) -> tuple[list[Ready], list[AuditEvent]]:
        """Compose, decide and sign the drafts (each with its index): those that pass, and the
        audit events of the rules' refusals.

        ``refused`` None: the first draft failing a step stops the submission, as one at a
        time would (a refusal by the rules is audited at once). Otherwise each failing draft's
        error goes into ``refused`` under its index and the others go on; the refusals'
        events are for the caller to record with what it stores."""
        # Step by step across the batch, as the inbox checks envelopes (LineInbox._examine):
        # each step's code and data stay in the processor's caches from one message to the
        # next.
        reviews_by_route: dict[tuple[str, ...], date] = {}  # a bulk submission repeats routes
        contexts: dict[tuple[str, frozenset[str]], PolicyContext] = {}  # per hop and grants

        def step(index: int, work: Callable[[], T]) -> T | None:
            if refused is None:
                return work()
            try:
                return work()
            except ServiceError as exc:
                refused[index] = exc
                return None

        composed: list[tuple[int, Message]] = []
        for i, draft in drafts:
            message = step(i, partial(self._compose, draft, now, unit, reviews_by_route))
            if message is not None:
                composed.append((i, message))
        routed: list[tuple[int, Message, dict[str, str], bool]] = []
        events: list[AuditEvent] = []
        for i, message in composed:
            decided = step(i, partial(self._route, message, now, contexts))
            if decided is None:
                continue
            hops, held, reasons = decided
            if not reasons:
                routed.append((i, message, hops, held))
                continue
            event = AuditEvent(
                principal.username,
                AuditAction.MESSAGE_REFUSED,
                message.header.id,
                "refused",
                {"reasons": ",".join(r.code for r in reasons)},
            )
            if refused is None:
                self._audit.append([event])
                raise Refused(reasons)
            refused[i] = Refused(reasons)
            events.append(event)
        ready = []
        for i, message, hops, held in routed:
            envelopes = step(i, partial(self._envelopes, message, hops))
            if envelopes is not None:
                ready.append(Ready(i, message, hops, held, envelopes))
        return ready, events

    def examine(
        self, draft: Draft, unit: str, now: datetime
    ) -> tuple[dict[str, str], bool, list[Reason]]:
        """What :meth:`prepare` would decide for one draft, without signing, storing or
        recording anything (the desk's check before sending): the next hop per destination
        node, whether it would wait for a second officer, and every reason the rules would
        refuse it for. A draft that cannot be composed or routed raises as it would there."""
        message = self._compose(draft, now, unit, {})
        return self._route(message, now, {})

    def commit(
        self,
        principal: Principal,
        ready: Sequence[Ready],
        now: datetime,
        keys: Sequence[key_store.KeyRow],
        refusals: Sequence[AuditEvent],
        also: Also | None = None,
    ) -> None:
        """Store, schedule for review and queue the ready messages, their keys and the audit
        records, in one transaction; then wake the links' senders."""
        rows: list[message_store.MessageRow] = []
        queued: list[line_store.NewDelivery] = []
        held_rows: list[line_store.NewDelivery] = []
        events: list[AuditEvent] = []
        reviews: list[tuple[str, date]] = []
        for r in ready:
            header = r.message.header
            if header.review_date is not None:
                reviews.append((header.id, header.review_date))
            rows.append(
                message_store.MessageRow(
                    id=header.id,
                    direction="out",
                    sender=str(header.sender),
                    origin_node=self._identity.name,
                    header_json=orjson.dumps(r.message.stored_json).decode(),
                    # kept once, in its envelopes, when they carry it in the clear
                    content_json=None
                    if r.envelopes and not header.confidential
                    else r.message.content_bytes.decode(),
                    content_jwe=None,
                    envelope=None,
                    created_at=header.created_at,
                    stored_at=now,
                    author=principal.username,
                )
            )
            (held_rows if r.held else queued).extend(
                line_store.NewDelivery(header.id, destination, hop, envelope, "[]")
                for (destination, hop), envelope in zip(r.hops.items(), r.envelopes, strict=True)
            )
            events.append(
                AuditEvent(
                    principal.username,
                    AuditAction.MESSAGE_CREATED,
                    header.id,
                    "held" if r.held else "queued",
                    {
                        "to": ",".join(str(a) for a in header.to),
                        "kind": header.kind.value,
                        **({"reason": ALERT_NEEDS_REVIEW} if r.held else {}),
                    },
                )
            )
        events += refusals
        try:
            with self._db.transaction() as conn:
                key_store.remember(conn, keys)  # first: a key another worker stored fails at once
                # the content as the search index reads it (the rows may keep it only in
                # the envelopes queued below)
                contents = {r.message.header.id: r.message.content_bytes.decode() for r in ready}
                message_store.insert_messages(conn, rows, contents)
                retention_store.schedule(conn, reviews)
                line_store.queue_deliveries(conn, queued, now)
                if held_rows:
                    line_store.queue_deliveries(conn, held_rows, now, state="held")
                if also is not None:
                    events += also(conn, [r.message for r in ready])
                self._audit.record(conn, events)
        except StoreError as exc:
            raise Conflict(f"could not store the message: {exc}") from None
        hops = {d.next_hop for d in queued + held_rows}
        if hops:
            self._wake(hops)

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
        message: Message,
        now: datetime,
        contexts: dict[tuple[str, frozenset[str]], PolicyContext],
    ) -> tuple[dict[str, str], bool, list[Reason]]:
        """The next hop per destination node, whether the message waits for review, and every
        reason the rules refuse it for (none: it may leave)."""
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
        # what the kind itself refuses (a strategic report's personal data), once
        screened = [Reason(code, text) for code, text in kinds.screened(header, message.content)]
        return hops, held, [*reasons, *grant_reasons, *screened]

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

    def _envelopes(self, message: Message, hops: dict[str, str]) -> list[str]:
        return [self._envelope(message, destination) for destination in hops]

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
