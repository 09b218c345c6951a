"""Permissions as one unit sees them (the desk's page): the requests it received, with their
decision, and the requests it sent, with their answer.

``Sharing.permission_items`` lists the node's decisions; here they are narrowed to the
unit's own: the requests in its mailbox and what was decided on them, the grants it issued as
a provider (``provider`` is the unit's address), and the grants received here for requests it
sent (the grant's carrier, a permission-grant message, is in its mailbox and replies to the
request). A refusal stays on the provider's node (services/permission_decisions.py): a
request sent stays ``pending`` here until a grant comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from secureline.domain.message import Header, parse_header
from secureline.domain.vocabulary import Kind
from secureline.services.permission_decisions import PermissionItem, decided_item
from secureline.services.roles import Principal
from secureline.store import messages as message_store
from secureline.store.database import Database

#: the sent messages looked through for the unit's permission requests
SENT_LOOKED_AT = 500


@dataclass(frozen=True)
class SentRequest:
    header: Header  # the permission-request message
    asked: dict[str, Any]  # {message_id, scope, grantee, purpose, reason}
    state: str  # pending (no answer here yet) or granted
    grant: PermissionItem | None
    deliveries: tuple[str, ...]  # the request's delivery states


class UnitPermissions:
    def __init__(self, node: str, db: Database, sharing: Any, messaging: Any) -> None:
        self._node = node
        self._db = db
        self._sharing = sharing
        self._messaging = messaging

    def received(self, principal: Principal) -> list[PermissionItem]:
        """Requests to the unit, pending first, then what it decided (granted, refused)."""
        address = f"{principal.unit}@{self._node}"
        items = self._sharing.permission_items(principal)
        pending = [i for i in items if i.direction == "requested"]
        decided = [
            i for i in items if i.direction in ("issued", "refused") and i.provider == address
        ]
        decided.sort(key=lambda i: i.decided_at.isoformat() if i.decided_at else "", reverse=True)
        return pending + decided

    def sent(self, principal: Principal) -> list[SentRequest]:
        """The unit's permission requests, newest first, each with its answer if one came."""
        granted: dict[str, PermissionItem] = {}
        for row in self._sharing.permissions(principal):
            if row.direction != "received" or row.carrier_id is None:
                continue
            carrier = message_store.received_by(self._db, principal.unit, row.carrier_id)
            if carrier is not None:
                answers = parse_header(orjson.loads(carrier.header_json)).reply_to
                if answers is not None:
                    granted[answers] = decided_item(row)
        found = []
        for listed in self._messaging.sent(principal, SENT_LOOKED_AT):
            header = listed.header
            if header.kind is not Kind.PERMISSION_REQUEST:
                continue
            grant = granted.get(header.id)
            found.append(
                SentRequest(
                    header=header,
                    asked=self._asked(header.id),
                    state="granted" if grant else "pending",
                    grant=grant,
                    deliveries=listed.states,
                )
            )
        return found

    def _asked(self, request_id: str) -> dict[str, Any]:
        row = message_store.get_message(self._db, request_id)
        if row is None or row.content_json is None:
            return {}
        try:
            body = orjson.loads(orjson.loads(row.content_json).get("body", ""))
        except (orjson.JSONDecodeError, AttributeError):
            return {}
        return body if isinstance(body, dict) else {}
