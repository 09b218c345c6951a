"""The provider's deletion (retraction) and correction of a message it sent, at every
recipient. The kinds' own parts (the drafts, what a recipient does) are in
services/kinds/deletion.py, correction.py and amendment.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from secureline.domain.audit import AuditEvent
from secureline.domain.message import Header, Message, parse_header
from secureline.domain.policy import Reason
from secureline.domain.vocabulary import Kind
from secureline.services import roles
from secureline.services.errors import Conflict, InvalidInput, NotFoundError, Refused
from secureline.services.idempotency import Submitted
from secureline.services.kinds import amendment, correction, deletion
from secureline.services.kinds import registry as kinds
from secureline.services.roles import Principal
from secureline.services.sharing_base import SharingBase, control_marking
from secureline.store import messages as message_store


class Amendments(SharingBase):
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

        # what the original's kind refuses, the correction may not bring in (nothing stored)
        found = kinds.screened(*correction.as_original(original, content("")))
        if found:
            raise Refused([Reason(code, text) for code, text in found])
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
        draft = amendment.draft(control_marking(original), original, kind, reason, content(reason))
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
