"""``permission-grant``: the provider's signed grant, sent to whoever asked for it.

Its body is the grant's JSON with its signature (services/permissions.py). On receipt the
grant must verify, be signed by the node that sends the message, and not have expired; it is
then kept with the grants received, in the transaction that stores the message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.kinds import facts
from secureline.domain.message import Content, Grant, Header
from secureline.domain.vocabulary import Kind
from secureline.services.kinds.registry import KindSpec, Receipt
from secureline.services.line.refusal import Refusal
from secureline.services.permissions import (
    INVALID_GRANT,
    GrantError,
    grant_json,
    parse_grant,
    received_grant_row,
    verify_grant,
)
from secureline.store import grants as grant_store


def draft(marking: dict[str, Any], grant: Grant, to: list[str], reply_to: str) -> dict[str, Any]:
    """The message that carries ``grant`` (marked as a control message about its original)."""
    return {
        **marking,
        "kind": Kind.PERMISSION_GRANT.value,
        "to": to,
        "subject": f"Permission granted ({grant.scope.value}) for {grant.message_id}",
        "reply_to": reply_to,
        "body": grant_json(grant),
    }


def examine(receipt: Receipt, header: Header, content: Content) -> Grant:
    try:
        grant = parse_grant(content.body)
        verify_grant(grant, receipt.verify_keys)
    except GrantError as exc:
        raise Refusal(INVALID_GRANT, exc.text) from None
    if grant.provider.node != header.sender.node:
        raise Refusal(
            INVALID_GRANT,
            f"grant {grant.id} is from {grant.provider.node}, but {header.sender.node} sent it",
        )
    if grant.until <= receipt.now:
        raise Refusal(INVALID_GRANT, f"grant {grant.id} expired at {grant.until}")
    return grant


def commit(conn: Any, header: Header, grant: Grant, now: datetime) -> list[AuditEvent]:
    grant_store.save_grants(conn, [received_grant_row(grant, header.id, now)])
    return [
        AuditEvent(
            str(header.sender),
            AuditAction.PERMISSION_GRANTED,
            grant.message_id,
            "received",
            {"grant": grant.id, "carrier": header.id},
        )
    ]


SPEC = KindSpec(
    Kind.PERMISSION_GRANT,
    "the provider's signed permission on a message it sent",
    facts(Kind.PERMISSION_GRANT),
    payload=Grant,
    examine=examine,
    commit=commit,
)
