"""Permissions over the line, as the provider and as a recipient: a recipient asks the
provider of a message for a permission (a ``permission-request``), the provider grants it
(a signed grant in a ``permission-grant``) or refuses it (kept here:
services/permission_decisions.py). The kinds' own parts are in services/kinds/.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import translate
from secureline.domain.message import Grant, GrantScope, Header, Message, parse_header
from secureline.services import permission_decisions as decisions
from secureline.services import roles
from secureline.services.errors import InvalidInput, NotFoundError
from secureline.services.idempotency import Submitted
from secureline.services.kinds import permission_grant as grant_kind
from secureline.services.kinds import permission_request as request_kind
from secureline.services.permission_decisions import PermissionItem
from secureline.services.permissions import grant_row, sign_grant
from secureline.services.roles import Principal
from secureline.services.sharing_base import SharingBase, control_marking
from secureline.store import grants as grant_store
from secureline.store import messages as message_store

DEFAULT_GRANT_VALIDITY = timedelta(days=90)
NODE_NAME = re.compile(NAME_PATTERN)


class PermissionSharing(SharingBase):
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
        draft = request_kind.draft(control_marking(original), original, request)

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
            control_marking(original), grant, recipients, request_message_id or original.id
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
