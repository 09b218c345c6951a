"""People's sessions at the command line: log in with a password, act as that person
until the session expires, is ended by logout, or the user is disabled.

The secret is handed out once (the CLI keeps it in a file only its owner reads); the
database holds its digest and expiry, so every process on the node decides the same way
and a logout or a disabling holds at once. A session is refused with the reason, because
the person's next step depends on it: log in again, or ask the administrator.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.accounts import Accounts, token_hash
from secureline.services.audit import AuditLog
from secureline.services.errors import InvalidInput, NotAuthenticated
from secureline.services.roles import Principal, Role
from secureline.store import sessions as store
from secureline.store.database import Database

#: How long a login lasts unless asked otherwise: a working day.
DEFAULT_LIFETIME = timedelta(hours=8)
#: The longest a login may be asked to last.
MAX_LIFETIME = timedelta(days=7)
SESSION_PREFIX = "sls_"


@dataclass(frozen=True)
class Session:
    """A live session: who acts, and until when."""

    id: str
    principal: Principal
    created_at: datetime
    expires_at: datetime


class Sessions:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        accounts: Accounts,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._audit = audit
        self._accounts = accounts
        self._clock = clock

    def open(
        self, username: str, password: str, lifetime: timedelta = DEFAULT_LIFETIME
    ) -> tuple[str, Session]:
        """Log in: the password is checked (and the attempt audited) by
        :meth:`Accounts.login`; returns the session's secret, shown once, and the session."""
        if not timedelta(0) < lifetime <= MAX_LIFETIME:
            raise InvalidInput("lifetime", f"must be more than 0 and at most {MAX_LIFETIME}")
        principal = self._accounts.login(username, password)
        secret = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(secrets.token_hex(8), principal, now, now + lifetime)
        with self._db.transaction() as conn:
            store.add_session(
                conn, session.id, principal.user_id, token_hash(secret), now, session.expires_at
            )
        return secret, session

    def authenticate(self, secret: str) -> Session:
        """The live session for ``secret``; refused, with why, when it is unknown, ended,
        expired, or its user disabled."""
        with self._db.read() as conn:
            row = store.session_for(conn, token_hash(secret))
        again = "log in again: secureline login --user NAME --dir DIR"
        if row is None:
            raise NotAuthenticated(f"the session is unknown: {again}", code="session_unknown")
        if row.user_disabled_at is not None:
            raise NotAuthenticated(
                f"user {row.username!r} is disabled: ask the node's administrator",
                code="user_disabled",
            )
        if row.ended_at is not None:
            raise NotAuthenticated(f"the session was ended (logout): {again}", code="session_ended")
        if row.expires_at <= self._clock():
            when = f"{row.expires_at:%Y-%m-%d %H:%M} UTC"
            raise NotAuthenticated(
                f"the session expired at {when}: {again}", code="session_expired"
            )
        principal = Principal(row.user_id, row.username, row.unit, Role(row.role))
        return Session(row.id, principal, row.created_at, row.expires_at)

    def end(self, secret: str) -> Session | None:
        """Log out: the session ends for every process at once (audited ``session.ended``).
        Returns the session, or None when it was already over (nothing to end)."""
        try:
            session = self.authenticate(secret)
        except NotAuthenticated:
            return None
        with self._db.transaction() as conn:
            if not store.end_session(conn, session.id, self._clock()):
                return None  # another process logged out first
            event = AuditEvent(
                session.principal.username,
                AuditAction.SESSION_ENDED,
                session.principal.username,
                "logout",
                {"session_id": session.id},
            )
            self._audit.record(conn, [event])
        return session
