"""The provider stays in control of what it shared (issue 4 of the rules of sharing).

Forwarding with the provider's rules attached, permissions asked and granted over the line
(signed grants), and the provider's deletion or correction of what it sent. Every message
these send goes through :meth:`Messaging.send`, so the rules of sharing apply to it exactly
as to any other submission.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.message import (
    Grant,
    GrantScope,
    Header,
    Message,
    parse_header,
    translate,
)
from secureline.domain.vocabulary import Kind
from secureline.services import permission_decisions as decisions
from secureline.services import roles
from secureline.services.audit import AuditLog
from secureline.services.errors import (
    Conflict,
    InvalidInput,
    NotFoundError,
)
from secureline.services.idempotency import Submitted
from secureline.services.kinds import amendment, correction, deletion
from secureline.services.kinds import permission_grant as grant_kind
from secureline.services.kinds import permission_request as request_kind
from secureline.services.line.directory import Directory
from secureline.services.line.identity import NodeIdentity
from secureline.services.messaging import Messaging
from secureline.services.permission_decisions import PermissionItem
from secureline.services.permissions import grant_row, sign_grant
from secureline.services.roles import Principal
from secureline.store import grants as grant_store
from secureline.store import messages as message_store
from secureline.store.database import Database

DEFAULT_GRANT_VALIDITY = timedelta(days=90)
NODE_NAME = re.compile(NAME_PATTERN)


class Sharing:
    def __init__(
        self,
        messaging: Messaging,
        identity: NodeIdentity,
        db: Database,
        directory: Directory,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._messaging = messaging
        self._identity = identity
        self._db = db
        self._directory = directory
        self._audit = audit
        self._clock = clock

    def forward(
        self,
        principal: Principal,
        message_id: str,
        to: Sequence[str],
        purpose: str | None = None,
        grants: Sequence[dict[str, Any]] | None = None,
        *,
        key: str | None = None,
    ) -> Submitted:
        """Pass on a message received here; the provider's handling code and purpose travel
        with it, and the rules (H2: the provider's grant) are checked like any submission.

        ``grants=None`` takes the unexpired grants this node received for the message and
        names among the new destinations (or this node, for another purpose); pass a list
        (possibly empty) to choose them."""
        row = message_store.received_by(self._db, principal.unit, message_id)
        if row is None:
            raise NotFoundError(f"no message {message_id} in {principal.unit}'s inbox")
        if row.content_json is None:
            raise Conflict(f"{message_id} was purged; its content cannot be forwarded")
        original = parse_header(orjson.loads(row.header_json))
        content = orjson.loads(row.content_json)
        marking = original.model_dump(
            mode="json",
            include={
                "kind",
                "alert",
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
        # A forwarded alert stays an alert, so that the four-eyes review the organisation or
        # the outgoing link requires holds it as it holds any other alert.
        self._messaging.check_may_send(principal)
        return self._messaging.send(principal, [draft], principal.unit, keys=[key])[0]

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
        *,
        key: str | None = None,
    ) -> Submitted:
        """Ask the provider of a message received here for a permission: a
        ``permission-request`` message to the original sender, replying to the message.
        Its body is the request as JSON: {message_id, scope, grantee, purpose, reason}."""
        self._messaging.check_may_send(principal)
        original = self._received(principal, message_id)
        request = {
            "message_id": original.id,
            "scope": _scope(scope).value,
            "grantee": _node_name(grantee_node),
            "purpose": purpose,
            "reason": reason,
        }
        draft = request_kind.draft(_control_marking(original), original, request)

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

        return self._messaging.send(principal, [draft], principal.unit, audit, keys=[key])[0]

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
        self._messaging.check_may_send(principal)
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
        if not roles.acts_for(principal, original.sender.unit):
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
        draft = grant_kind.draft(
            _control_marking(original), grant, recipients, request_message_id or original.id
        )

        def store(conn: Any, sent: list[Message]) -> list[AuditEvent]:
            if request_message_id is not None:
                earlier = grant_store.decision_for(conn, request_message_id)
                if earlier is not None and earlier.direction == "refused":
                    raise decisions.already_decided(request_message_id, earlier)
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

        return grant, self._messaging.send(principal, [draft], original.sender.unit, store)[0]

    def refuse_permission(self, principal: Principal, request_id: str, reason: str) -> None:
        """As the provider, refuse a permission request received here, stating why; it is
        decided once (409 ``permission_decided`` after a grant or a refusal). The refusal
        stays here: see services/permission_decisions.py."""
        decisions.may_decide(principal)
        reason = decisions.stated(reason)
        asked, requester = self._permission_request(principal, request_id)
        row = message_store.get_message(self._db, request_id)
        assert row is not None  # _permission_request found it
        request = parse_header(orjson.loads(row.header_json))
        refusal = decisions.refusal_row(
            principal, request, asked, reason, self._identity.name, self._clock()
        )
        with self._db.transaction() as conn:
            earlier = grant_store.refuse_request(conn, refusal)
            if earlier is not None:
                raise decisions.already_decided(request_id, earlier)
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.PERMISSION_REFUSED,
                        refusal.message_id,
                        "refused",
                        {
                            "request": request_id,
                            "requester": requester,
                            "scope": refusal.scope,
                            "grantee": refusal.grantee,
                            "reason": reason[:500],
                        },
                    )
                ],
            )

    def permissions(self, principal: Principal) -> list[grant_store.GrantRow]:
        """The grants this node issued and received, and the requests it refused."""
        roles.require(
            principal,
            roles.Action.LIST_PERMISSIONS,
            f"role {principal.role} cannot list permissions",
        )
        return grant_store.list_grants(self._db)

    def permission_items(self, principal: Principal) -> list[PermissionItem]:
        """Every decision (granted, refused) and the requests still pending in the
        principal's unit's inbox, each with its state."""
        decided = [decisions.decided_item(g) for g in self.permissions(principal)]
        answered = {d.request_id for d in decided if d.direction != "received"}
        pending = [
            decisions.pending_item(header, asked)
            for header, asked in self.permission_requests(principal)
            if header.id not in answered
        ]
        return decided + pending

    def permission_requests(self, principal: Principal) -> list[tuple[Header, dict[str, Any]]]:
        """Permission requests in the principal's unit's inbox, with what they ask."""
        found = []
        after = 0
        while True:
            page = message_store.mailbox_page(
                self._db, principal.unit, after, 500, header_has=request_kind.IN_HEADER
            )
            for seq, row in page:
                after = seq
                header = parse_header(orjson.loads(row.header_json))
                if request_kind.is_request(header) and row.content_json is not None:
                    found.append((header, request_kind.asked(row.content_json)))
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
                not roles.acts_for_every_unit(principal)
                and not message_store.in_mailbox(self._db, principal.unit, request_id)
            )
        ):
            raise NotFoundError(f"no permission request {request_id} here")
        header = parse_header(orjson.loads(row.header_json))
        if not request_kind.is_request(header) or row.content_json is None:
            raise InvalidInput("request", f"{request_id} is not a permission request")
        return request_kind.asked(row.content_json), str(header.sender)

    def _received(self, principal: Principal, message_id: str) -> Header:
        row = message_store.received_by(self._db, principal.unit, message_id)
        if row is None:
            raise NotFoundError(f"no message {message_id} in {principal.unit}'s inbox")
        return parse_header(orjson.loads(row.header_json))

    # --- deletion and correction by the provider -----------------------------------------

    def retract(
        self, principal: Principal, message_id: str, reason: str, *, key: str | None = None
    ) -> Submitted:
        """Delete, at every recipient, a message this node sent: a ``deletion`` message
        (reply_to the original, the reason as body). Each destination purges the original
        and leaves a tombstone; its delivered evidence of the deletion is the confirmation."""
        original = self._sent_by(principal, message_id)
        return self._amend(principal, original, Kind.DELETION, reason, deletion.content, key)

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
        key: str | None = None,
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

        def content(_reason: str) -> dict[str, Any]:
            return correction.content(
                original,
                old,
                body=body,
                entities=entities,
                attachments=attachments,
                data_subjects=data_subjects,
            )

        return self._amend(principal, original, Kind.CORRECTION, reason, content, key)

    def _sent_by(self, principal: Principal, message_id: str) -> Header:
        self._messaging.check_may_send(principal)
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(f"no message {message_id} was sent from {self._identity.name}")
        header = parse_header(orjson.loads(row.header_json))
        if not roles.acts_for(principal, header.sender.unit):
            raise NotFoundError(f"no message {message_id} was sent by {principal.unit}")
        if amendment.is_amendment(header):
            raise InvalidInput("message_id", f"{message_id} is itself a {header.kind.value}")
        return header

    def _amend(
        self,
        principal: Principal,
        original: Header,
        kind: Kind,
        reason: str,
        content: Callable[[str], dict[str, Any]],
        key: str | None = None,
    ) -> Submitted:
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("reason", f"a {kind.value} states its reason")
        draft = amendment.draft(_control_marking(original), original, kind, reason, content(reason))
        event = amendment.ACTIONS[kind]

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

        return self._messaging.send(principal, [draft], original.sender.unit, audit, keys=[key])[0]


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
    personal data, handling H0; confidential when the original is, so that its case
    reference and the control's subject (which names the reason) are sealed too."""
    return {
        "confidential": original.confidential,
        "crime_area": original.crime_area.value,
        "handling": "H0",
        "evaluation": str(original.evaluation),
        "purpose": original.purpose,
        "language": original.language,
        "case_ref": original.case_ref,
        "classification": "basic",
    }


def _utc(value: datetime) -> datetime:
    """SQLite hands back times without their zone: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
