"""The provider stays in control of what it shared (issue 4 of the rules of sharing).

``Sharing`` is what the API, the CLI and the desk call: forwarding with the provider's rules
attached (here), permissions asked, granted and refused (permission_sharing.py), and the
provider's deletion or correction of what it sent (amendments.py); what they share is in
sharing_base.py. Every message these send goes through :meth:`Messaging.send`, so the rules
of sharing apply to it exactly as to any other submission.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from secureline.domain.message import parse_header
from secureline.services.amendments import Amendments
from secureline.services.errors import Conflict, NotFoundError
from secureline.services.idempotency import Submitted
from secureline.services.permission_sharing import DEFAULT_GRANT_VALIDITY, PermissionSharing
from secureline.services.roles import Principal
from secureline.services.sharing_base import utc
from secureline.store import grants as grant_store
from secureline.store import messages as message_store

__all__ = ["DEFAULT_GRANT_VALIDITY", "Sharing"]


class Sharing(PermissionSharing, Amendments):
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
            if g.grantee in nodes and utc(g.until) > now
        ]

    # --- permissions --------------------------------------------------------------------
