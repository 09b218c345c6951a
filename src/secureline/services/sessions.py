"""People's sessions at the command line: log in with a password, act as that person
until the session expires, is ended by logout, or the user is disabled.

The secret is handed out once (the CLI keeps it in a file only its owner reads); the
database holds its digest and expiry, so every process on the node decides the same way
and a logout or a disabling holds at once. A session is refused with the reason, because
the person's next step depends on it: log in again, or ask the administrator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from secureline.services.accounts import Accounts
from secureline.services.audit import AuditLog
from secureline.services.errors import InvalidInput
from secureline.services.roles import Principal
from secureline.services.session_book import Refusals, SessionBook
from secureline.store import sessions as store
from secureline.store.database import Database

#: How long a login lasts unless asked otherwise: a working day.
DEFAULT_LIFETIME = timedelta(hours=8)
#: The longest a login may be asked to last.
MAX_LIFETIME = timedelta(days=7)
SESSION_PREFIX = "sls_"
_AGAIN = "log in again: secureline login --user NAME --dir DIR"
_REFUSALS = Refusals(
    unknown=f"the session is unknown: {_AGAIN}",
    ended=f"the session was ended (logout): {_AGAIN}",
    expired=lambda row: f"the session expired at {row.expires_at:%Y-%m-%d %H:%M} UTC: {_AGAIN}",
)


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
        self._accounts = accounts
        self._clock = clock
        self._book = SessionBook(db, audit, clock, store.sessions, _REFUSALS, prefix=SESSION_PREFIX)

    def open(
        self, username: str, password: str, lifetime: timedelta = DEFAULT_LIFETIME
    ) -> tuple[str, Session]:
        """Log in: the password is checked (and the attempt audited) by
        :meth:`Accounts.login`; returns the session's secret, shown once, and the session."""
        if not timedelta(0) < lifetime <= MAX_LIFETIME:
            raise InvalidInput("lifetime", f"must be more than 0 and at most {MAX_LIFETIME}")
        principal = self._accounts.login(username, password)
        now = self._clock()
        secret, session_id = self._book.issue(principal, now, now + lifetime)
        return secret, Session(session_id, principal, now, now + lifetime)

    def authenticate(self, secret: str) -> Session:
        """The live session for ``secret``; refused, with why, when it is unknown, ended,
        expired, or its user disabled."""
        live = self._book.look_up(secret)
        return Session(live.row.id, live.principal, live.row.created_at, live.row.expires_at)

    def end(self, secret: str) -> Session | None:
        """Log out: the session ends for every process at once (audited ``session.ended``).
        Returns the session, or None when it was already over (nothing to end)."""
        live = self._book.end(secret, "logout")
        if live is None:
            return None
        return Session(live.row.id, live.principal, live.row.created_at, live.row.expires_at)
