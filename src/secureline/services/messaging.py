"""Composing, sending, reading and following messages: the rules a user meets first.

``submit`` applies the rules of sharing before anything is queued: a refusal comes back at
once with every reason and nothing is stored. An accepted message is stored, signed once
per destination node and queued in one transaction, then the link's sender is woken.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from secureline.crypto.errors import CryptoError
from secureline.crypto.jwe import encrypt_for
from secureline.domain.addresses import NAME_PATTERN, Address
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import DomainError
from secureline.domain.message import (
    Draft,
    Grant,
    GrantScope,
    Header,
    Message,
    compose,
    parse_draft,
    parse_header,
    translate,
)
from secureline.domain.policy import PolicyContext, Stage, decide
from secureline.domain.vocabulary import HandlingCode, Kind
from secureline.services.accounts import Principal, Role
from secureline.services.audit import AuditLog
from secureline.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NoRoute,
    NotFoundError,
    ReasonInfo,
    Refused,
)
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
from secureline.services.permissions import check_grants, grant_json, grant_row, sign_grant
from secureline.store import grants as grant_store
from secureline.store import line as line_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store.database import Database
from secureline.store.errors import StoreError

DEFAULT_RETENTION = timedelta(days=5 * 365)  # Interpol's default review period
NODE_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class Submitted:
    id: str
    destinations: tuple[str, ...]
    held_for_review: bool


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
    return "msg-" + secrets.token_hex(12)


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

    # --- sending ------------------------------------------------------------------------

    def submit(self, principal: Principal, data: dict[str, Any] | Draft) -> Submitted:
        return self.submit_many(principal, [data])[0]

    def submit_many(
        self, principal: Principal, drafts: Sequence[dict[str, Any] | Draft]
    ) -> list[Submitted]:
        """Submit several messages in one transaction (national systems send in bulk)."""
        self._may_send(principal)
        return self._send(principal, drafts, principal.unit)

    def _send(
        self,
        principal: Principal,
        drafts: Sequence[dict[str, Any] | Draft],
        unit: str,
        also: Callable[[Any, list[Message]], list[AuditEvent]] | None = None,
    ) -> list[Submitted]:
        """Prepare, store and queue; ``also`` writes more rows in the same transaction."""
        now = self._clock()
        prepared = [self._prepare(principal, d, now, unit) for d in drafts]
        rows, deliveries, events = [], [], []
        reviews: list[tuple[str, date]] = []
        for message, hops, held in prepared:
            header = message.header
            if header.review_date is not None:
                reviews.append((header.id, header.review_date))
            rows.append(
                message_store.MessageRow(
                    id=header.id,
                    direction="out",
                    sender=str(header.sender),
                    origin_node=self._identity.name,
                    header_json=orjson.dumps(header.model_dump(mode="json")).decode(),
                    content_json=message.content_bytes.decode(),
                    content_jwe=None,
                    envelope=None,
                    created_at=header.created_at,
                    stored_at=now,
                )
            )
            for destination, hop in hops.items():
                deliveries.append(
                    line_store.NewDelivery(
                        header.id,
                        destination,
                        hop,
                        self._envelope(message, destination),
                        orjson.dumps([]).decode(),
                    )
                )
            events.append(
                AuditEvent(
                    principal.username,
                    AuditAction.MESSAGE_CREATED,
                    header.id,
                    "held" if held else "queued",
                    {"to": ",".join(str(a) for a in header.to), "kind": header.kind.value},
                )
            )
        try:
            with self._db.transaction() as conn:
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
        return [Submitted(m.header.id, tuple(h), held) for m, h, held in prepared]

    def _may_send(self, principal: Principal) -> None:
        if principal.role not in (Role.OFFICER, Role.SYSTEM, Role.ADMIN):
            raise Forbidden(f"role {principal.role} cannot send messages")

    def _prepare(
        self, principal: Principal, data: dict[str, Any] | Draft, now: datetime, unit: str
    ) -> tuple[Message, dict[str, str], bool]:
        try:
            draft = data if isinstance(data, Draft) else parse_draft(data)
            message = compose(
                draft,
                message_id=new_message_id(),
                sender=Address(unit, self._identity.name),
                now=now,
                default_review_date=self._default_review_date(draft, now),
            )
        except DomainError as exc:
            raise InvalidInput(exc.field, exc.reason, code=exc.code) from None
        header = message.header
        hops: dict[str, str] = {}
        # Grants travel inside the signed header; only those whose provider signature verifies
        # count for the decision, and each one that does not is a reason naming it.
        valid_grants, grant_reasons = check_grants(
            header.forwarded, self._directory.verify_keys, now
        )
        reasons: list[ReasonInfo] = []
        held = header.kind is Kind.ALERT and self._require_alert_review
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
            # Review is satisfied by holding the alert for a second person rather than refusing
            # it: the organisation's setting or any agreement on its first link asks for it.
            agreement = self._directory.agreement(hop).agreement
            if header.kind is Kind.ALERT and agreement is not None and agreement.alerts_need_review:
                held = True
            decision = decide(
                header,
                PolicyContext(
                    node=self._identity.name,
                    stage=Stage.SUBMIT,
                    now=now,
                    link_out=self._directory.link_terms(hop),
                    requires_alert_review=False,
                    alert_approved=True,
                    valid_grant_ids=valid_grants,
                ),
            )
            reasons += [ReasonInfo(r.code, r.text) for r in decision.reasons]
            hops[destination] = hop
        reasons += [ReasonInfo(r.code, r.text) for r in grant_reasons]
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
        return message, hops, held

    def _default_review_date(self, draft: Draft, now: datetime) -> date:
        """Five years, or less where a link the message leaves on allows less."""
        days = [DEFAULT_RETENTION.days]
        for node in dict.fromkeys(a.node for a in draft.to):
            hop = self._directory.next_hop(node)
            agreement = self._directory.agreement(hop).agreement if hop else None
            if agreement is not None:
                days.append(agreement.retention_max_days)
        return (now + timedelta(days=min(days))).date()

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

    def approve_alert(self, principal: Principal, message_id: str) -> None:
        """Four eyes: an alert held for review leaves only when a second user approves it."""
        if principal.role not in (Role.OFFICER, Role.ADMIN):
            raise Forbidden("only officers and administrators approve alerts")
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(f"no outgoing message {message_id}")
        header = parse_header(orjson.loads(row.header_json))
        if header.kind is not Kind.ALERT:
            raise InvalidInput("message_id", "only alerts are reviewed")
        creator = next(
            (
                r.actor
                for r in self._audit.records_for_object(message_id)
                if r.action == AuditAction.MESSAGE_CREATED
            ),
            None,
        )
        if creator == principal.username:
            raise Forbidden("an alert must be approved by someone other than its author")
        with self._db.transaction() as conn:
            released = line_store.release_held(conn, message_id, self._clock())
            if not released:
                raise Conflict(f"{message_id} is not waiting for review")
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.ALERT_APPROVED,
                        message_id,
                        "approved",
                        {"author": creator or ""},
                    )
                ],
            )
        self._wake(set(released))

    def forward(
        self,
        principal: Principal,
        message_id: str,
        to: Sequence[str],
        purpose: str | None = None,
        grants: Sequence[dict[str, Any]] | None = None,
    ) -> Submitted:
        """Pass on a message received here; the provider's handling code and purpose travel
        with it, and the rules (H2: the provider's grant) are checked like any submission.

        ``grants=None`` takes the unexpired grants this node received for the message and
        names among the new destinations (or this node, for another purpose); pass a list
        (possibly empty) to choose them."""
        row = message_store.get_message(self._db, message_id)
        if (
            row is None
            or row.direction != "in"
            or not message_store.in_mailbox(self._db, principal.unit, message_id)
        ):
            raise NotFoundError(f"no message {message_id} in {principal.unit}'s inbox")
        if row.content_json is None:
            raise Conflict(f"{message_id} was purged; its content cannot be forwarded")
        original = parse_header(orjson.loads(row.header_json))
        content = orjson.loads(row.content_json)
        marking = original.model_dump(
            mode="json",
            include={
                "kind",
                "crime_area",
                "subject",
                "handling",
                "handling_conditions",
                "evaluation",
                "data_subjects",
                "classification",
                "language",
                "case_ref",
                "confidential",
            },
        )
        draft = {
            **marking,
            **content,
            "to": list(to),
            "purpose": purpose or original.purpose,
            "forwarded": {
                "message_id": original.id,
                "provider": str(original.sender),
                "handling": original.handling.value,
                "purpose": original.purpose,
                "grants": list(grants)
                if grants is not None
                else self._stored_grants(original.id, to),
            },
        }
        if original.kind is Kind.ALERT:
            draft["kind"], draft["alert"] = "information", None
        return self.submit(principal, draft)

    def _stored_grants(self, message_id: str, to: Sequence[str]) -> list[dict[str, Any]]:
        now = self._clock()
        nodes = {str(t).rpartition("@")[2].strip().lower() for t in to} | {self._identity.name}
        return [
            orjson.loads(g.grant_json)
            for g in grant_store.list_grants(self._db, message_id=message_id, direction="received")
            if g.grantee in nodes and _utc(g.until) > now
        ]

    # --- permissions --------------------------------------------------------------------

    def request_permission(
        self,
        principal: Principal,
        message_id: str,
        scope: str | GrantScope,
        grantee_node: str,
        purpose: str | None = None,
        reason: str = "",
    ) -> Submitted:
        """Ask the provider of a message received here for a permission: a
        ``permission-request`` message to the original sender, replying to the message.
        Its body is the request as JSON: {message_id, scope, grantee, purpose, reason}."""
        self._may_send(principal)
        original = self._received(principal, message_id)
        request = {
            "message_id": original.id,
            "scope": _scope(scope).value,
            "grantee": _node_name(grantee_node),
            "purpose": purpose,
            "reason": reason,
        }
        draft = {
            **_control_marking(original),
            "kind": Kind.PERMISSION_REQUEST.value,
            "to": [str(original.sender)],
            "subject": f"Permission request ({request['scope']}) for {original.id}",
            "reply_to": original.id,
            "body": orjson.dumps(request).decode(),
        }

        def audit(conn: Any, sent: list[Message]) -> list[AuditEvent]:
            return [
                AuditEvent(
                    principal.username,
                    AuditAction.PERMISSION_REQUESTED,
                    original.id,
                    "requested",
                    {
                        "request": sent[0].header.id,
                        "scope": str(request["scope"]),
                        "grantee": str(request["grantee"]),
                        "provider": str(original.sender),
                    },
                )
            ]

        return self._send(principal, [draft], principal.unit, audit)[0]

    def grant_permission(
        self,
        principal: Principal,
        request_message_id: str | None = None,
        *,
        message_id: str | None = None,
        grantee: str | None = None,
        scope: str | GrantScope | None = None,
        until: datetime | None = None,
        purpose: str | None = None,
        to: Sequence[str] | None = None,
    ) -> tuple[Grant, Submitted]:
        """As the provider, grant a permission on a message this node sent: either answer a
        permission request (``request_message_id``; the other arguments override it) or
        name the message, grantee and scope. The grant is signed by this node, stored, and
        sent in a ``permission-grant`` message (its body is the grant's JSON) to whoever
        asked, or else to ``to``, or else to every recipient of the message."""
        self._may_send(principal)
        now = self._clock()
        asked: dict[str, Any] = {}
        reply_to: Sequence[str] = ()
        if request_message_id is not None:
            asked, requester = self._permission_request(principal, request_message_id)
            reply_to = [requester]
        message_id = message_id or asked.get("message_id")
        if not message_id:
            raise InvalidInput("message_id", "name the message the permission is for")
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(
                f"grant for message {message_id}: no message {message_id} was sent from "
                f"{self._identity.name}, so there is nothing to grant on"
            )
        original = parse_header(orjson.loads(row.header_json))
        if principal.role is not Role.ADMIN and original.sender.unit != principal.unit:
            raise NotFoundError(f"grant for message {message_id}: {principal.unit} did not send it")
        grantee_name = grantee or asked.get("grantee")
        if not grantee_name:
            raise InvalidInput("grantee", "name the node the permission is for")
        scope_value = _scope(scope or asked.get("scope") or "")
        if until is None:
            until = now + DEFAULT_GRANT_VALIDITY
        if until.tzinfo is None:
            raise InvalidInput("until", "must include a time zone, e.g. 2027-01-01T00:00:00Z")
        if until <= now:
            raise InvalidInput("until", f"{until.isoformat()} is not in the future")
        try:
            grant = Grant(
                id="grant-" + secrets.token_hex(12),
                message_id=original.id,
                provider=original.sender,
                grantee=_node_name(grantee_name),
                scope=scope_value,
                purpose=purpose if purpose is not None else asked.get("purpose"),
                until=until.astimezone(UTC),
            )
        except ValidationError as exc:
            error = translate(exc)
            raise InvalidInput(error.field, error.reason) from None
        grant = sign_grant(grant, self._identity.signing)
        recipients = list(reply_to or to or [str(a) for a in original.to])
        draft = {
            **_control_marking(original),
            "kind": Kind.PERMISSION_GRANT.value,
            "to": recipients,
            "subject": f"Permission granted ({grant.scope.value}) for {original.id}",
            "reply_to": request_message_id or original.id,
            "body": grant_json(grant),
        }

        def store(conn: Any, sent: list[Message]) -> list[AuditEvent]:
            grant_store.save_grants(
                conn, [grant_row(grant, "issued", request_message_id, sent[0].header.id, now)]
            )
            return [
                AuditEvent(
                    principal.username,
                    AuditAction.PERMISSION_GRANTED,
                    original.id,
                    "granted",
                    {
                        "grant": grant.id,
                        "scope": grant.scope.value,
                        "grantee": grant.grantee,
                        "until": grant.until.isoformat(),
                        "carrier": sent[0].header.id,
                    },
                )
            ]

        return grant, self._send(principal, [draft], original.sender.unit, store)[0]

    def permissions(self, principal: Principal) -> list[grant_store.GrantRow]:
        """The grants this node issued and received."""
        if principal.role not in (Role.OFFICER, Role.ADMIN, Role.DPO, Role.SYSTEM):
            raise Forbidden(f"role {principal.role} cannot list permissions")
        return grant_store.list_grants(self._db)

    def permission_requests(self, principal: Principal) -> list[tuple[Header, dict[str, Any]]]:
        """Permission requests in the principal's unit's inbox, with what they ask."""
        found = []
        after = 0
        while True:
            page = message_store.mailbox_page(self._db, principal.unit, after, 500)
            for seq, row in page:
                after = seq
                header = parse_header(orjson.loads(row.header_json))
                if header.kind is Kind.PERMISSION_REQUEST and row.content_json is not None:
                    found.append((header, _request_body(row.content_json)))
            if len(page) < 500:
                return found

    def _permission_request(
        self, principal: Principal, request_id: str
    ) -> tuple[dict[str, Any], str]:
        row = message_store.get_message(self._db, request_id)
        if (
            row is None
            or row.direction != "in"
            or (
                principal.role is not Role.ADMIN
                and not message_store.in_mailbox(self._db, principal.unit, request_id)
            )
        ):
            raise NotFoundError(f"no permission request {request_id} here")
        header = parse_header(orjson.loads(row.header_json))
        if header.kind is not Kind.PERMISSION_REQUEST or row.content_json is None:
            raise InvalidInput("request", f"{request_id} is not a permission request")
        return _request_body(row.content_json), str(header.sender)

    def _received(self, principal: Principal, message_id: str) -> Header:
        row = message_store.get_message(self._db, message_id)
        if (
            row is None
            or row.direction != "in"
            or not message_store.in_mailbox(self._db, principal.unit, message_id)
        ):
            raise NotFoundError(f"no message {message_id} in {principal.unit}'s inbox")
        return parse_header(orjson.loads(row.header_json))

    # --- deletion and correction by the provider -----------------------------------------

    def retract(self, principal: Principal, message_id: str, reason: str) -> Submitted:
        """Delete, at every recipient, a message this node sent: a ``deletion`` message
        (reply_to the original, the reason as body). Each destination purges the original
        and leaves a tombstone; its delivered evidence of the deletion is the confirmation."""
        original = self._sent_by(principal, message_id)
        return self._amend(principal, original, Kind.DELETION, reason, {"body": reason})

    def correct(
        self,
        principal: Principal,
        message_id: str,
        reason: str,
        *,
        body: str | None = None,
        entities: Sequence[dict[str, Any]] | None = None,
        attachments: Sequence[dict[str, Any]] | None = None,
        data_subjects: Sequence[str] | None = None,
    ) -> Submitted:
        """Correct, at every recipient, a message this node sent: a ``correction`` message
        (reply_to the original) whose content is the corrected content; what is not given
        stays as it was. Each destination replaces the original's content and records the
        replaced one (by digest) as a tombstone."""
        original = self._sent_by(principal, message_id)
        row = message_store.get_message(self._db, message_id)
        assert row is not None
        if row.content_json is None:
            raise Conflict(f"{message_id} was purged; it cannot be corrected")
        old = orjson.loads(row.content_json)
        content = {
            "body": old.get("body", "") if body is None else body,
            "entities": old.get("entities", []) if entities is None else list(entities),
            "attachments": old.get("attachments", []) if attachments is None else list(attachments),
        }
        extra: dict[str, Any] = {**content}
        if data_subjects is not None:
            extra["data_subjects"] = list(data_subjects)
        return self._amend(principal, original, Kind.CORRECTION, reason, extra)

    def _sent_by(self, principal: Principal, message_id: str) -> Header:
        self._may_send(principal)
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(f"no message {message_id} was sent from {self._identity.name}")
        header = parse_header(orjson.loads(row.header_json))
        if principal.role is not Role.ADMIN and header.sender.unit != principal.unit:
            raise NotFoundError(f"no message {message_id} was sent by {principal.unit}")
        if header.kind in (Kind.DELETION, Kind.CORRECTION):
            raise InvalidInput("message_id", f"{message_id} is itself a {header.kind.value}")
        return header

    def _amend(
        self,
        principal: Principal,
        original: Header,
        kind: Kind,
        reason: str,
        content: dict[str, Any],
    ) -> Submitted:
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("reason", f"a {kind.value} states its reason")
        # A correction carries the corrected content under the original's marking; a deletion
        # carries only its reason.
        marking: dict[str, Any] = (
            {
                "data_subjects": [s.value for s in original.data_subjects],
                "handling": original.handling.value,
                "handling_conditions": original.handling_conditions,
                "classification": original.classification.value,
                "confidential": original.confidential,
            }
            if kind is Kind.CORRECTION
            else {}
        )
        draft = {
            **_control_marking(original),
            **marking,
            **content,
            "kind": kind.value,
            "to": [str(a) for a in original.to],
            "subject": f"{kind.value} of {original.id}: {reason}"[:300],
            "reply_to": original.id,
        }
        event = (
            AuditAction.MESSAGE_PURGED if kind is Kind.DELETION else AuditAction.MESSAGE_CORRECTED
        )

        def audit(conn: Any, sent: list[Message]) -> list[AuditEvent]:
            return [
                AuditEvent(
                    principal.username,
                    event,
                    original.id,
                    "requested",
                    {"by_message": sent[0].header.id, "reason": reason[:500]},
                )
            ]

        return self._send(principal, [draft], original.sender.unit, audit)[0]

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
        for token_id, token, _ in issue(self._identity, [item], now, None, batch_for=""):
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


DEFAULT_GRANT_VALIDITY = timedelta(days=90)


def _scope(value: str | GrantScope) -> GrantScope:
    try:
        return GrantScope(value)
    except ValueError:
        choices = ", ".join(s.value for s in GrantScope)
        raise InvalidInput("scope", f"{value!r} is not one of {choices}") from None


def _node_name(value: str) -> str:
    name = value.strip().lower()
    if NODE_NAME.fullmatch(name) is None:
        raise InvalidInput("grantee", f"{value!r} is not a node name")
    return name


def _control_marking(original: Header) -> dict[str, Any]:
    """The marking of a message about another one: same area, purpose and language, no
    personal data, handling H0."""
    return {
        "crime_area": original.crime_area.value,
        "handling": "H0",
        "evaluation": str(original.evaluation),
        "purpose": original.purpose,
        "language": original.language,
        "case_ref": original.case_ref,
        "classification": "basic",
    }


def _request_body(text: str) -> dict[str, Any]:
    try:
        body = orjson.loads(orjson.loads(text).get("body", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _utc(value: datetime) -> datetime:
    """SQLite hands back times without their zone: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
