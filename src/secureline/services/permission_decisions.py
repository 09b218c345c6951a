"""The provider's answer to a permission request: granted (services/sharing.py) or refused
with a reason (here), and what the listing shows of each request (pending, granted, refused).

A refusal stays on the provider's node: the requester is not told over the line. The only
signed decision the grant path carries is the grant itself, which is a permission wherever
it travels (a forward carries it, every node on the path counts it); a refusal written into
it could be read as a permission by a node that reads it as a grant. No existing message
kind carries a "no", and no new kind is invented for it (docs/operations.md, Permissions).
The requester's officers learn of it from the provider by other means.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.message import MESSAGE_ID, GrantScope, Header
from secureline.services import roles
from secureline.services.errors import Conflict, InvalidInput
from secureline.services.roles import Principal
from secureline.store.grants import GrantRow

#: 403: the role never decides on permission requests (officers and administrators do)
PERMISSION_DECISION_NOT_PERMITTED = "permission_decision_not_permitted"
#: 409: the request was granted or refused already
PERMISSION_DECIDED = "permission_decided"

_NODE_NAME = re.compile(NAME_PATTERN)
_STATES = {"issued": "granted", "received": "granted", "refused": "refused"}


@dataclass(frozen=True)
class PermissionItem:
    """One line of the permission listing."""

    state: str  # pending, granted or refused
    id: str  # the grant, the refusal, or (pending) the request
    direction: str  # issued, received, refused, or requested (a request waiting here)
    message_id: str
    provider: str
    grantee: str
    scope: str
    purpose: str | None
    until: datetime | None  # a grant's end of validity
    request_id: str | None
    reason: str | None  # why it was refused (or, pending, why it was asked)
    decided_at: datetime | None


def may_decide(principal: Principal) -> None:
    roles.require(
        principal,
        roles.Action.DECIDE_PERMISSION,
        f"role {principal.role} does not decide on permission requests: officers and "
        "administrators do",
        code=PERMISSION_DECISION_NOT_PERMITTED,
    )


def stated(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("reason", "state why the permission is refused")
    return reason


def refusal_row(
    principal: Principal,
    request: Header,
    asked: dict[str, Any],
    reason: str,
    node: str,
    now: datetime,
) -> GrantRow:
    """The refusal as stored (store/grants.py): what was asked, bounded (the request's body
    is the requester's text), who refused it and why."""
    message_id = _text(asked.get("message_id"))
    if MESSAGE_ID.fullmatch(message_id) is None:
        message_id = request.id
    scope = _text(asked.get("scope"))
    grantee = _text(asked.get("grantee")).lower()
    purpose = asked.get("purpose")
    here = [str(a) for a in request.to if a.node == node]
    provider = here[0] if here else f"{principal.unit}@{node}"
    record = {
        "request_id": request.id,
        "message_id": message_id,
        "requester": str(request.sender),
        "scope": scope,
        "grantee": grantee,
        "reason": reason,
        "by": principal.username,
        "at": now.isoformat(),
    }
    return GrantRow(
        id="refusal-" + secrets.token_hex(12),
        message_id=message_id,
        provider=provider,
        grantee=grantee if _NODE_NAME.fullmatch(grantee) else "",
        scope=scope if scope in set(GrantScope) else "",
        purpose=purpose[:500] if isinstance(purpose, str) else None,
        until=now,
        grant_json=orjson.dumps({"refused": record}).decode(),
        direction="refused",
        request_id=request.id,
        carrier_id=None,
        stored_at=now,
    )


def already_decided(request_id: str, earlier: GrantRow) -> Conflict:
    what = "refused" if earlier.direction == "refused" else f"granted ({earlier.id})"
    return Conflict(f"permission request {request_id} was {what} already", code=PERMISSION_DECIDED)


def decided_item(row: GrantRow) -> PermissionItem:
    refused = row.direction == "refused"
    reason = orjson.loads(row.grant_json).get("refused", {}).get("reason") if refused else None
    return PermissionItem(
        state=_STATES.get(row.direction, row.direction),
        id=row.id,
        direction=row.direction,
        message_id=row.message_id,
        provider=row.provider,
        grantee=row.grantee,
        scope=row.scope,
        purpose=row.purpose,
        until=None if refused else _utc(row.until),
        request_id=row.request_id,
        reason=reason,
        decided_at=_utc(row.stored_at),
    )


def pending_item(request: Header, asked: dict[str, Any]) -> PermissionItem:
    purpose = asked.get("purpose")
    return PermissionItem(
        state="pending",
        id=request.id,
        direction="requested",
        message_id=_text(asked.get("message_id")),
        provider=", ".join(str(a) for a in request.to),
        grantee=_text(asked.get("grantee")),
        scope=_text(asked.get("scope")),
        purpose=purpose if isinstance(purpose, str) else None,
        until=None,
        request_id=request.id,
        reason=_text(asked.get("reason")) or None,
        decided_at=None,
    )


def _text(value: object) -> str:
    return value[:200] if isinstance(value, str) else ""


def _utc(value: datetime) -> datetime:
    """SQLite hands back times without their zone: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
