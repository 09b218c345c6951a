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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.accounts import Principal, Role
from secureline.services.audit import AuditLog
from secureline.services.errors import Forbidden, InvalidInput, NotFoundError
from secureline.store import retention as retention_store
from secureline.store.database import Database

SYSTEM_ACTOR = "system:retention"
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
        """The review queue: items due for a decision, oldest review date first."""
        _may_review(principal)
        return retention_store.review_items(self._db)

    def keep(self, principal: Principal, message_id: str, until: date, reason: str) -> None:
        """Keep a message until a new review date (at most five years from today)."""
        _may_review(principal)
        reason = _reason(reason)
        now = self._clock()
        if until <= now.date():
            raise InvalidInput("until", f"{until.isoformat()} is not in the future")
        if until > now.date() + MAX_KEEP:
            raise InvalidInput("until", "a message is kept for at most five years at a time")
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
        _may_review(principal)
        reason = _reason(reason)
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


def _may_review(principal: Principal) -> None:
    if principal.role not in (Role.OFFICER, Role.ADMIN, Role.DPO):
        raise Forbidden("only officers, administrators and the DPO review retention")


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("reason", "state why")
    return reason
