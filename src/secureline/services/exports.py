"""Exporting a received message out of the system (for a case file, a court, an analyst).

H1 information may not be used in judicial proceedings without the provider's permission:
an export for judicial use needs a ``judicial-use`` grant that the provider signed for this
node and this message. H3 conditions must be acknowledged before the content leaves. Every
export, and every refused one, is in the audit chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.message import GrantScope, parse_header
from secureline.domain.policy import Reason
from secureline.domain.vocabulary import HandlingCode
from secureline.services.audit import AuditLog
from secureline.services.errors import Conflict, InvalidInput, NotFoundError, Refused
from secureline.services.line.directory import Directory
from secureline.services.permissions import GrantError, parse_grant, verify_grant
from secureline.services.roles import Principal
from secureline.store import messages as message_store
from secureline.store.database import Database
from secureline.store.grants import list_grants

H1_JUDICIAL_USE = "h1_judicial_use_without_permission"
H3_NOT_ACKNOWLEDGED = "h3_conditions_not_acknowledged"


class ExportPurpose(StrEnum):
    JUDICIAL = "judicial"  # evidence in judicial proceedings
    CASE_FILE = "case-file"  # the recipient's own case management, for the stated purpose


class Exports:
    def __init__(
        self,
        node: str,
        db: Database,
        directory: Directory,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._node = node
        self._db = db
        self._directory = directory
        self._audit = audit
        self._clock = clock

    def export(
        self,
        principal: Principal,
        message_id: str,
        purpose: str,
        *,
        acknowledge_conditions: bool = False,
    ) -> dict[str, Any]:
        """The message as a self-describing document, or Refused naming the rule."""
        try:
            chosen = ExportPurpose(purpose)
        except ValueError:
            raise InvalidInput(
                "purpose", f"{purpose!r} is not one of {', '.join(ExportPurpose)}"
            ) from None
        row = message_store.received_by(self._db, principal.unit, message_id)
        if row is None:
            raise NotFoundError(f"no message {message_id} in {principal.unit}'s inbox")
        if row.content_json is None:
            raise Conflict(f"{message_id} was purged; there is nothing to export")
        header = parse_header(orjson.loads(row.header_json))
        now = self._clock()
        refusal = None
        if header.handling is HandlingCode.H3 and not acknowledge_conditions:
            refusal = Reason(
                H3_NOT_ACKNOWLEDGED,
                f"H3: acknowledge the provider's conditions first: {header.handling_conditions}",
            )
        elif (
            header.handling is HandlingCode.H1
            and chosen is ExportPurpose.JUDICIAL
            and not self._judicial_grant(message_id, header.sender.node, now)
        ):
            refusal = Reason(
                H1_JUDICIAL_USE,
                f"H1: {message_id} may be used in judicial proceedings only with a judicial-use "
                f"permission from its provider {header.sender}; ask for one first",
            )
        detail = {"purpose": chosen.value, "unit": principal.unit}
        if refusal is not None:
            self._audit.append(
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.MESSAGE_EXPORTED,
                        message_id,
                        "refused",
                        {**detail, "reason": refusal.code},
                    )
                ]
            )
            raise Refused([refusal])
        self._audit.append(
            [AuditEvent(principal.username, AuditAction.MESSAGE_EXPORTED, message_id, "ok", detail)]
        )
        return {
            "exported_at": now.isoformat(),
            "exported_by": principal.username,
            "exporting_node": self._node,
            "purpose": chosen.value,
            "header": header.model_dump(mode="json"),
            "content": orjson.loads(row.content_json),
            # The origin's signed envelope: lets anyone holding the provider's key check that
            # the export is what the provider sent.
            "envelope": row.envelope,
        }

    def _judicial_grant(self, message_id: str, provider: str, now: datetime) -> bool:
        for row in list_grants(self._db, message_id=message_id, direction="received"):
            if (
                row.scope != GrantScope.JUDICIAL_USE.value
                or row.grantee != self._node
                or row.until.replace(tzinfo=now.tzinfo) <= now
            ):
                continue
            try:
                grant = parse_grant(row.grant_json)
                verify_grant(grant, self._directory.verify_keys)
            except GrantError:
                continue
            if grant.provider.node == provider:
                return True
        return False
