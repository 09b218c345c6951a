"""Four eyes on alerts: the queue of alerts held for review, and a second person's decision.

An alert that the organisation or an outgoing link requires to be reviewed is stored with its
deliveries ``held`` (see :meth:`Messaging.submit`). A second person (an officer or an
administrator, never the alert's author) then either approves it, and its deliveries are
queued, or rejects it with a reason, and its deliveries are refused for good with
``alert_rejected``: it never leaves the node. Either decision is taken once; a second one, or
one about a message that is not held, is a 409 ``alert_not_held``.

The author is the message record's ``author`` (the username that composed it, stored with
the message; the signed header names the unit only). An outgoing message without one (a store
from before ``0009a`` whose audit chain had no ``message.created`` record for it) has no known
author, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.message import Header, parse_header
from secureline.services import roles
from secureline.services.audit import AuditLog
from secureline.services.errors import Conflict, Forbidden, InvalidInput, NotFoundError
from secureline.services.kinds import alert as alert_kind
from secureline.services.roles import Principal
from secureline.store import messages as message_store
from secureline.store.database import Database
from secureline.store.line import held as held_store

#: a held alert's deliveries once a second person rejected it (docs/protocol.md, §7)
ALERT_REJECTED = "alert_rejected"
#: 403: the role never reviews alerts (only officers and administrators do)
ALERT_REVIEW_NOT_PERMITTED = "alert_review_not_permitted"
#: 403: the author of an alert may not be its second pair of eyes
OWN_ALERT = "own_alert"
#: 409: approved or rejected already, or never held
ALERT_NOT_HELD = "alert_not_held"


@dataclass(frozen=True)
class HeldAlert:
    id: str
    author: str  # the username that composed it
    unit: str  # the sending unit
    created_at: datetime
    destinations: tuple[str, ...]  # the nodes it waits to be sent to
    subject: str
    alert: str | None  # the alert's colour
    to: tuple[str, ...]


class AlertReview:
    def __init__(
        self,
        node: str,
        db: Database,
        audit: AuditLog,
        clock: Callable[[], datetime],
        wake: Callable[[set[str]], None],
    ) -> None:
        self._node = node
        self._db = db
        self._audit = audit
        self._clock = clock
        self._wake = wake

    def held(self, principal: Principal) -> list[HeldAlert]:
        """The alerts waiting for a second person, oldest first."""
        _may_review(principal)
        found = []
        for row in held_store.held_messages(self._db):
            header = parse_header(orjson.loads(row.header_json))
            found.append(
                HeldAlert(
                    id=row.message_id,
                    author=row.author or "",
                    unit=header.sender.unit,
                    created_at=header.created_at,
                    destinations=row.destinations,
                    subject=header.subject,
                    alert=header.alert.value if header.alert else None,
                    to=tuple(str(a) for a in header.to),
                )
            )
        return found

    def held_in_units(self, principal: Principal) -> list[HeldAlert]:
        """The held alerts of the units the principal acts for (the desk's queue: an
        officer reviews their own unit's alerts, an administrator every unit's)."""
        return [a for a in self.held(principal) if roles.acts_for(principal, a.unit)]

    def approve_in_unit(self, principal: Principal, message_id: str) -> None:
        """:meth:`approve`, for an alert of a unit the principal acts for only; another
        unit's alert is not found (the desk: no unit reaches another's by URL)."""
        self._in_unit(principal, message_id)
        self.approve(principal, message_id)

    def reject_in_unit(self, principal: Principal, message_id: str, reason: str) -> list[str]:
        """:meth:`reject`, for an alert of a unit the principal acts for only."""
        self._in_unit(principal, message_id)
        return self.reject(principal, message_id, reason)

    def _in_unit(self, principal: Principal, message_id: str) -> None:
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(f"no outgoing message {message_id}")
        header = parse_header(orjson.loads(row.header_json))
        if not roles.acts_for(principal, header.sender.unit):
            raise NotFoundError(f"no outgoing message {message_id}")

    def approve(self, principal: Principal, message_id: str) -> None:
        """Release a held alert: its deliveries are queued and the links woken."""
        author = self._check(principal, message_id, "approved")
        with self._db.transaction() as conn:
            released = held_store.release_held(conn, message_id, self._clock())
            if not released:
                raise _not_held(message_id)
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.ALERT_APPROVED,
                        message_id,
                        "approved",
                        {"author": author},
                    )
                ],
            )
        self._wake(set(released))

    def reject(self, principal: Principal, message_id: str, reason: str) -> list[str]:
        """Refuse a held alert for good, stating why; returns the destinations refused."""
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("reason", "state why the alert is rejected")
        author = self._check(principal, message_id, "rejected")
        with self._db.transaction() as conn:
            refused = held_store.refuse_held(
                conn, message_id, ALERT_REJECTED, reason, self._node, self._clock()
            )
            if not refused:
                raise _not_held(message_id)
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.ALERT_REJECTED,
                        message_id,
                        "rejected",
                        {"author": author, "reason": reason[:500]},
                    )
                ],
            )
        return refused

    def _check(self, principal: Principal, message_id: str, decision: str) -> str:
        """The alert's author, once ``principal`` may decide on it (one of the reviewing
        roles, and not its author)."""
        _may_review(principal)
        row = message_store.get_message(self._db, message_id)
        if row is None or row.direction != "out":
            raise NotFoundError(f"no outgoing message {message_id}")
        header: Header = parse_header(orjson.loads(row.header_json))
        if not alert_kind.is_reviewed(header):
            raise InvalidInput("message_id", "only alerts are reviewed")
        author = row.author
        if author == principal.username:
            raise Forbidden(
                f"an alert must be {decision} by someone other than its author", code=OWN_ALERT
            )
        return author or ""


def _may_review(principal: Principal) -> None:
    roles.require(
        principal,
        roles.Action.REVIEW_ALERT,
        f"role {principal.role} does not review alerts: officers and administrators do",
        code=ALERT_REVIEW_NOT_PERMITTED,
    )


def _not_held(message_id: str) -> Conflict:
    return Conflict(
        f"{message_id} is not waiting for review (already approved or rejected, or never held)",
        code=ALERT_NOT_HELD,
    )
