"""One way to issue, look up, rotate, expire and end a person's session, for every face.

The CLI's sessions (``services/sessions.py``) and the desk's (``services/desk_auth.py``) are
the same thing kept in two tables: a random secret handed out once and stored as its SHA-256
digest, a user, an expiry, an end. What differs is said by the face: its table, whether a
stage or an idle timeout applies, and what to tell a person whose session is refused (the
codes are the same everywhere: ``session_unknown``, ``user_disabled``, ``session_ended``,
``session_expired``). The database is the truth, so an end or a disabling holds at once for
every worker and process.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.accounts import token_hash
from secureline.services.audit import AuditLog
from secureline.services.errors import NotAuthenticated
from secureline.services.roles import Principal, Role
from secureline.store import sessions as store
from secureline.store.database import Database
from secureline.store.sessions import SessionRow


@dataclass(frozen=True)
class Refusals:
    """What a face tells a person whose session is refused (the codes do not change)."""

    unknown: str
    ended: str
    expired: Callable[[SessionRow], str]


@dataclass(frozen=True)
class Live:
    """A session that was admitted: its row and who acts through it."""

    row: SessionRow
    principal: Principal


class SessionBook:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Callable[[], datetime],
        table: Table,
        refusals: Refusals,
        *,
        prefix: str = "",
        idle: timedelta | None = None,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._table = table
        self._refusals = refusals
        self._prefix = prefix  # the secret's, so that a person can tell what it is
        self._idle = idle  # a full session ends after this long without a request

    def issue(
        self, principal: Principal, now: datetime, expires_at: datetime, stage: str | None = None
    ) -> tuple[str, str]:
        """A new session for ``principal``: its secret (handed out once, stored as its
        digest) and its id."""
        secret = self._prefix + secrets.token_urlsafe(32)
        session_id = secrets.token_hex(8)
        with self._db.transaction() as conn:
            store.add_session(
                conn,
                session_id,
                principal.user_id,
                token_hash(secret),
                now,
                expires_at,
                table=self._table,
                stage=stage,
            )
        return secret, session_id

    def look_up(self, secret: str, stage: str = "full") -> Live:
        """The live session for ``secret`` at ``stage``; refused, with why, when it is
        unknown (or at another stage), its user disabled, ended, or expired (by age, or by
        idle time for a full session where the face has an idle timeout). A full session's
        idle clock starts again."""
        now = self._clock()
        with self._db.read() as conn:
            row = store.session_for(conn, token_hash(secret), table=self._table)
        if row is None or row.stage != stage:
            raise NotAuthenticated(self._refusals.unknown, code="session_unknown")
        if row.user_disabled_at is not None:
            raise NotAuthenticated(
                f"user {row.username!r} is disabled: ask the node's administrator",
                code="user_disabled",
            )
        if row.ended_at is not None:
            raise NotAuthenticated(self._refusals.ended, code="session_ended")
        if row.expires_at <= now or self._idle_over(row, stage, now):
            raise NotAuthenticated(self._refusals.expired(row), code="session_expired")
        if self._idle is not None and stage == "full":
            with self._db.transaction() as conn:
                store.touch_session(conn, row.id, now, table=self._table)
        return Live(row, Principal(row.user_id, row.username, row.unit, Role(row.role)))

    def _idle_over(self, row: SessionRow, stage: str, now: datetime) -> bool:
        if self._idle is None or stage != "full" or row.seen_at is None:
            return False
        return row.seen_at + self._idle <= now

    def rotate(
        self,
        session_id: str,
        principal: Principal,
        event: AuditEvent,
        now: datetime,
        expires_at: datetime,
        stage: str | None = None,
    ) -> tuple[str, str]:
        """End ``session_id`` (auditing ``event`` with it) and issue a new session with a new
        secret; refused ``session_ended`` when another request ended it first."""
        with self._db.transaction() as conn:
            if not store.end_session(conn, session_id, now, table=self._table):
                raise NotAuthenticated(self._refusals.ended, code="session_ended")
            self._audit.record(conn, [event])
        return self.issue(principal, now, expires_at, stage)

    def end(self, secret: str, outcome: str) -> Live | None:
        """Sign out: the session ends for every process at once (audited ``session.ended``
        with ``outcome``). Returns the session, or None when it was already over."""
        try:
            live = self.look_up(secret)
        except NotAuthenticated:
            return None
        with self._db.transaction() as conn:
            if not store.end_session(conn, live.row.id, self._clock(), table=self._table):
                return None  # another process ended it first
            user = live.principal.username
            event = AuditEvent(
                user, AuditAction.SESSION_ENDED, user, outcome, {"session_id": live.row.id}
            )
            self._audit.record(conn, [event])
        return live
