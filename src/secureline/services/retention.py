"""Retention: every message with personal data is reviewed by its date, kept or purged.

:meth:`Retention.run` is the scheduled job (``secureline review run``, and every
``[retention] job_interval_seconds`` inside a running node, on a
:class:`~secureline.services.periodic.Periodic` timer):

1. items whose review date falls within ``[retention] notice_days`` enter the review queue
   (state ``due``), and so do kept items whose keep-until date comes near;
2. items in the queue whose review date has **passed** with no decision to keep them are
   purged: the content (body, entities, attachments), the ciphertext and every envelope
   that carries them are removed, and a tombstone (id, dates, reason) remains.

Officers decide with :meth:`Retention.keep` (a new review date and a reason) or
:meth:`Retention.purge` (at once). Every purge is audited as ``message.purged``.

Who reviews (issue 13): the officers of the unit that **holds** the message (the unit that
sent a message composed here, or a recipient unit of one delivered here) see it in their
queue and decide on it; the data protection officer sees the whole queue and decides on any
message, because overseeing retention across the node is that office's duty. Nobody else
does: not an administrator (who manages accounts, not information), not a national system
(a decision to keep personal data is a person's). A refusal is audited (``policy.decision``,
outcome ``refused``) and answered 403 with ``review_not_permitted`` (the role never reviews)
or ``not_holding_unit`` (another unit's message; also for an unknown id, so that a refusal
does not tell an officer which ids exist).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services import roles
from secureline.services.audit import AuditLog
from secureline.services.errors import Forbidden, InvalidInput, NotFoundError
from secureline.services.roles import Principal
from secureline.store import accounts as accounts_store
from secureline.store import retention as retention_store
from secureline.store.database import Database

SYSTEM_ACTOR = "system:retention"
REVIEW_NOT_PERMITTED = "review_not_permitted"
NOT_HOLDING_UNIT = "not_holding_unit"
MAX_KEEP = timedelta(days=5 * 365)


@dataclass(frozen=True)
class RunResult:
    queued: list[str]
    purged: list[str]


class Retention:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Callable[[], datetime],
        *,
        notice_days: int = 30,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._notice = timedelta(days=notice_days)

    def run(self, now: datetime | None = None) -> RunResult:
        """Queue what is due for review and purge what is past its date without a decision."""
        now = now or self._clock()
        today = now.date()
        with self._db.transaction() as conn:
            queued = retention_store.queue_due(conn, today + self._notice, now)
            purged = []
            for message_id in retention_store.overdue(conn, today):
                if retention_store.purge(
                    conn,
                    message_id,
                    actor=SYSTEM_ACTOR,
                    reason="review date passed with no decision to keep it",
                    now=now,
                ):
                    purged.append(message_id)
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        SYSTEM_ACTOR,
                        AuditAction.MESSAGE_PURGED,
                        message_id,
                        "purged",
                        {"reason": "review date passed"},
                    )
                    for message_id in purged
                ],
            )
        return RunResult(queued, purged)

    def queue(self, principal: Principal) -> list[retention_store.ReviewItem]:
        """The review queue: items due for a decision, oldest review date first; an officer
        sees only the items their unit holds."""
        self._may_review(principal, None)
        items = retention_store.review_items(self._db)
        if roles.oversees_every_unit(principal):
            return items
        with self._db.read() as conn:
            held = accounts_store.units_holding(conn, [i.message_id for i in items])
        return [i for i in items if principal.unit in held[i.message_id]]

    def keep(self, principal: Principal, message_id: str, until: date, reason: str) -> None:
        """Keep a message until a new review date (at most five years from today)."""
        reason = _reason(reason)
        now = self._clock()
        if until <= now.date():
            raise InvalidInput("until", f"{until.isoformat()} is not in the future")
        if until > now.date() + MAX_KEEP:
            raise InvalidInput("until", "a message is kept for at most five years at a time")
        self._may_review(principal, message_id)
        with self._db.transaction() as conn:
            if not retention_store.keep(conn, message_id, until, principal.username, reason, now):
                raise NotFoundError(f"no message {message_id} awaiting retention review")
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.POLICY_DECISION,
                        message_id,
                        "kept",
                        {"until": until.isoformat(), "reason": reason[:500]},
                    )
                ],
            )

    def purge(self, principal: Principal, message_id: str, reason: str) -> None:
        """Purge a message now: its content goes, a tombstone stays."""
        reason = _reason(reason)
        self._may_review(principal, message_id)
        now = self._clock()
        with self._db.transaction() as conn:
            if not retention_store.purge(
                conn, message_id, actor=principal.username, reason=reason, now=now
            ):
                raise NotFoundError(f"no message {message_id} with content to purge")
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.MESSAGE_PURGED,
                        message_id,
                        "purged",
                        {"reason": reason[:500]},
                    )
                ],
            )

    def tombstones(self, message_id: str) -> list[retention_store.Tombstone]:
        return retention_store.tombstones_for(self._db, message_id)

    def _may_review(self, principal: Principal, message_id: str | None) -> None:
        """Refuse (audited) unless ``principal`` may review ``message_id`` (None: the queue)."""
        if not roles.may(principal, roles.Action.REVIEW_RETENTION):
            self._refuse(principal, message_id, REVIEW_NOT_PERMITTED, "the role never reviews")
            raise Forbidden(
                "only the holding unit's officers and the DPO review retention",
                code=REVIEW_NOT_PERMITTED,
            )
        if message_id is None or roles.oversees_every_unit(principal):  # the DPO: every unit
            return
        with self._db.read() as conn:
            held = accounts_store.units_holding(conn, [message_id])[message_id]
        if principal.unit not in held:
            self._refuse(principal, message_id, NOT_HOLDING_UNIT, "another unit's message")
            raise Forbidden(
                f"unit {principal.unit!r} does not hold message {message_id}: only its "
                "holding unit's officers and the DPO decide on it",
                code=NOT_HOLDING_UNIT,
            )

    def _refuse(self, principal: Principal, message_id: str | None, code: str, why: str) -> None:
        self._audit.append(
            [
                AuditEvent(
                    principal.username,
                    AuditAction.POLICY_DECISION,
                    message_id or "review-queue",
                    "refused",
                    {"code": code, "reason": why, "unit": principal.unit},
                )
            ]
        )


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("reason", "state why")
    return reason
