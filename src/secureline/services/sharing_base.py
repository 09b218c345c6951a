"""What the provider's controls share (services/sharing.py forwards; permission_sharing.py
asks and grants; amendments.py deletes and corrects): the collaborators, and the marking of a
message about another one.

Every message these send goes through :meth:`Messaging.send`, so the rules of sharing apply
to it exactly as to any other submission.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from secureline.domain.message import Header, parse_header
from secureline.services.audit import AuditLog
from secureline.services.errors import NotFoundError
from secureline.services.line.directory import Directory
from secureline.services.line.identity import NodeIdentity
from secureline.services.messaging import Messaging
from secureline.services.roles import Principal
from secureline.store import messages as message_store
from secureline.store.database import Database


class SharingBase:
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

    def _received(self, principal: Principal, message_id: str) -> Header:
        row = message_store.received_by(self._db, principal.unit, message_id)
        if row is None:
            raise NotFoundError(f"no message {message_id} in {principal.unit}'s inbox")
        return parse_header(orjson.loads(row.header_json))


def control_marking(original: Header) -> dict[str, Any]:
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


def utc(value: datetime) -> datetime:
    """SQLite hands back times without their zone: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
