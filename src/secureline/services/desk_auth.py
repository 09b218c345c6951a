"""Signing in to the desk: a password, then a second factor, then a browser session.

The steps, each refused with a stable code:

1. :meth:`DeskAuth.begin` checks the password (:meth:`Accounts.login`, argon2id, audited)
   and opens a *half* session (stage ``password``) that is good for nothing but the second
   step, for :data:`SECOND_STEP_TIME`.
2. :meth:`DeskAuth.finish` checks a TOTP code (RFC 6238: 30 s steps, 6 digits, one step of
   clock drift either way, each step accepted once) or a recovery code, ends the half
   session and opens a full one with a new secret: the cookie is rotated at sign-in.
   A user with no second factor yet enrols here instead (:meth:`enrolment` then
   :meth:`enrol`): trust on first use of the password, which an administrator issued; the
   recovery codes are shown once and stored hashed.
3. :meth:`authenticate` admits a full session until it is idle for :data:`IDLE_TIMEOUT` or
   older than :data:`ABSOLUTE_TIMEOUT`; :meth:`end` signs out in the database.

Failures (password or second factor) are counted in the database, per source address and
per user name (the table the API's token failures use, keys prefixed ``desk:`` and
``desk-user:``): past :data:`FAILURE_LIMIT` in the window every attempt is refused, even a
right one, until the window ends. So the count holds across workers and restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import Connection

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.accounts import AUTH_FAILURE_WINDOW, Accounts
from secureline.services.accounts import token_hash as digest
from secureline.services.audit import AuditLog
from secureline.services.errors import Conflict, InvalidInput, NotAuthenticated, NotFoundError
from secureline.services.roles import Principal
from secureline.services.session_book import Refusals, SessionBook
from secureline.store import accounts as account_store
from secureline.store import desk_auth as store
from secureline.store.database import Database

SECOND_STEP_TIME = timedelta(minutes=5)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=10)  # a working day and a bit
FAILURE_LIMIT = 10
RECOVERY_CODES = 10
TOTP_DIGITS = 6
TOTP_STEP = 30
ISSUER = "secureline"
_REFUSALS = Refusals(
    unknown="sign in to the desk",
    ended="the session was ended: sign in again",
    expired=lambda _: "the session timed out: sign in again",
)


class SignInLocked(NotAuthenticated):
    """Too many failed sign-ins from this address or for this user: wait for the window."""

    code = "sign_in_locked"
    status = 429


@dataclass(frozen=True)
class DeskSession:
    id: str
    principal: Principal
    stage: str  # 'password': the second factor is due; 'full': signed in
    expires_at: datetime
    enrolled: bool = True  # for a half session: whether the user has a second factor yet


class DeskAuth:
    def __init__(
        self, db: Database, audit: AuditLog, accounts: Accounts, clock: Callable[[], datetime]
    ) -> None:
        self._db = db
        self._audit = audit
        self._accounts = accounts
        self._clock = clock
        self._book = SessionBook(
            db, audit, clock, store.desk_sessions, _REFUSALS, idle=IDLE_TIMEOUT
        )

    # --- step 1: the password --------------------------------------------------------------

    def begin(self, username: str, password: str, source: str) -> tuple[str, DeskSession]:
        """Check the password; returns the half session's secret (the new cookie)."""
        keys = self._failure_keys(username, source)
        self._refuse_if_locked(keys)
        try:
            principal = self._accounts.login(username, password)
        except NotAuthenticated:
            self._count_failure(keys, username, "password")
            raise
        now = self._clock()
        secret, session = self._open(principal, "password", now, now + SECOND_STEP_TIME)
        with self._db.read() as conn:
            enrolled = store.second_factor(conn, principal.user_id) is not None
        return secret, DeskSession(
            session.id, principal, session.stage, session.expires_at, enrolled
        )

    # --- step 2: the second factor ---------------------------------------------------------

    def finish(self, half_secret: str, code: str, source: str) -> tuple[str, DeskSession]:
        """Check a TOTP or recovery code against the half session's user; the half session
        ends and a full one begins, with a new secret."""
        half = self.authenticate(half_secret, stage="password")
        user = half.principal
        keys = self._failure_keys(user.username, source)
        self._refuse_if_locked(keys)
        code = "".join(code.split()).lower()
        now = self._clock()
        with self._db.transaction() as conn:
            factor = store.second_factor(conn, user.user_id)
            if factor is None:
                raise NotAuthenticated("enrol a second factor first", code="not_enrolled")
            ok = self._totp_ok(conn, user.user_id, factor.totp_secret, code, now) or (
                store.use_recovery_code(conn, user.user_id, digest(code), now)
            )
        if not ok:
            self._count_failure(keys, user.username, "second-factor")
            raise NotAuthenticated(
                "the code is wrong, was already used, or has expired", code="wrong_code"
            )
        return self._promote(half, now, "second-factor")

    @staticmethod
    def _totp_ok(conn: Connection, user_id: str, secret: str, code: str, now: datetime) -> bool:
        step = _matching_step(secret, code, now)
        return step is not None and store.use_step(conn, user_id, step)

    def enrolment(self, half_secret: str) -> str:
        """The provisioning URI (otpauth://) of a key proposed to a user with none yet. The
        key is derived from the half session's secret, so nothing is stored until the user
        proves, with a code, that their authenticator holds it."""
        half = self.authenticate(half_secret, stage="password")
        if half.enrolled:
            raise NotAuthenticated("a second factor is already enrolled", code="enrolled")
        return pyotp.TOTP(_proposed_key(half_secret)).provisioning_uri(
            name=half.principal.username, issuer_name=ISSUER
        )

    def enrol(self, half_secret: str, code: str, source: str) -> tuple[str, DeskSession, list[str]]:
        """Confirm the proposed key with a code from it: the key is stored, ten recovery
        codes are made (returned once, stored hashed) and the user is signed in."""
        half = self.authenticate(half_secret, stage="password")
        user = half.principal
        if half.enrolled:
            raise NotAuthenticated("a second factor is already enrolled", code="enrolled")
        keys = self._failure_keys(user.username, source)
        self._refuse_if_locked(keys)
        key = _proposed_key(half_secret)
        now = self._clock()
        codes = [secrets.token_hex(10) for _ in range(RECOVERY_CODES)]
        step = _matching_step(key, "".join(code.split()), now)
        if step is None:
            self._count_failure(keys, user.username, "second-factor")
            raise NotAuthenticated(
                "the code does not match the key shown: try the next one", code="wrong_code"
            )
        with self._db.transaction() as conn:
            store.set_second_factor(conn, user.user_id, key, now, [digest(c) for c in codes])
            store.use_step(conn, user.user_id, step)
            self._audit.record(conn, [_enrolled(user.username, user.username)])
        secret, session = self._promote(half, now, "enrolled")
        return secret, session, codes

    def set_secret(self, actor: str, username: str, secret: str) -> list[str]:
        """Enrol ``username`` with a given base32 key (the demo hands it out; an
        administrator's reset is :meth:`reset_second_factor`): returns fresh recovery codes."""
        try:
            pyotp.TOTP(secret).now()
        except Exception:  # noqa: BLE001 (pyotp raises several types for a bad key)
            raise InvalidInput("secret", "not a base32 TOTP key") from None
        codes = [secrets.token_hex(10) for _ in range(RECOVERY_CODES)]
        with self._db.transaction() as conn:
            user = account_store.get_user(conn, username=username)
            if user is None:
                raise InvalidInput("username", f"user {username!r} does not exist")
            store.set_second_factor(
                conn, user.id, secret, self._clock(), [digest(c) for c in codes]
            )
            self._audit.record(conn, [_enrolled(actor, username)])
        return codes

    def reset_second_factor(self, actor: str, username: str) -> None:
        """An administrator's reset of a lost authenticator: the key and recovery codes are
        gone and the user's desk sessions end at once; the next sign-in with the password
        enrols a new key (the trust on first use of the password, as for a new user)."""
        with self._db.transaction() as conn:
            user = account_store.get_user(conn, username=username)
            if user is None:
                raise NotFoundError(f"user {username!r} does not exist")
            if not store.clear_second_factor(conn, user.id, self._clock()):
                raise Conflict(f"user {username!r} has no second factor to reset")
            self._audit.record(
                conn, [AuditEvent(actor, AuditAction.USER_CHANGED, username, "second-factor-reset")]
            )

    # --- sessions ------------------------------------------------------------------------

    def authenticate(self, secret: str, stage: str = "full") -> DeskSession:
        """The live session for a cookie, at ``stage``; refused, with why, otherwise. A full
        session's idle clock restarts at each request."""
        live = self._book.look_up(secret, stage)
        enrolled = True
        if stage != "full":
            with self._db.read() as conn:
                enrolled = store.second_factor(conn, live.row.user_id) is not None
        return DeskSession(live.row.id, live.principal, stage, live.row.expires_at, enrolled)

    def end(self, secret: str) -> bool:
        """Sign out: the session ends in the database, for every worker at once (audited)."""
        return self._book.end(secret, "desk-sign-out") is not None

    def _open(
        self, principal: Principal, stage: str, now: datetime, expires_at: datetime
    ) -> tuple[str, DeskSession]:
        secret, session_id = self._book.issue(principal, now, expires_at, stage)
        return secret, DeskSession(session_id, principal, stage, expires_at)

    def _promote(self, half: DeskSession, now: datetime, how: str) -> tuple[str, DeskSession]:
        """The second step done: the half session ends and a full one begins, with a new
        secret (the cookie is rotated at sign-in)."""
        user = half.principal
        event = AuditEvent(user.username, AuditAction.LOGIN_SUCCESS, user.username, how)
        expires_at = now + ABSOLUTE_TIMEOUT
        secret, session_id = self._book.rotate(half.id, user, event, now, expires_at, "full")
        return secret, DeskSession(session_id, user, "full", expires_at)

    # --- failures ------------------------------------------------------------------------

    @staticmethod
    def _failure_keys(username: str, source: str) -> tuple[str, str]:
        return f"desk:{source}"[:64], f"desk-user:{username}"[:64]

    def _refuse_if_locked(self, keys: tuple[str, str]) -> None:
        since = self._clock() - AUTH_FAILURE_WINDOW
        with self._db.read() as conn:
            counts = [account_store.failures_since(conn, key, since) for key in keys]
        if max(counts) >= FAILURE_LIMIT:
            minutes = int(AUTH_FAILURE_WINDOW.total_seconds()) // 60
            raise SignInLocked(f"too many failed sign-ins: try again in up to {minutes} minutes")

    def _count_failure(self, keys: tuple[str, str], username: str, what: str) -> None:
        now = self._clock()
        since = now - AUTH_FAILURE_WINDOW
        with self._db.transaction() as conn:
            counts = [account_store.note_failure(conn, key, now, since) for key in keys]
            if what != "password":  # Accounts.login audited the password's failure itself
                self._audit.record(
                    conn,
                    [
                        AuditEvent(
                            username,
                            AuditAction.LOGIN_FAILURE,
                            username,
                            "refused",
                            {"factor": what, "failures": str(max(counts))},
                        )
                    ],
                )


def _proposed_key(half_secret: str) -> str:
    """A base32 TOTP key bound to one half session (160 bits, as RFC 4226 recommends)."""
    raw = hmac.new(half_secret.encode(), b"secureline desk totp enrolment", hashlib.sha256)
    return base64.b32encode(raw.digest()[:20]).decode()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within one step of drift either way."""
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP)
    step = int(now.timestamp()) // TOTP_STEP
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.at(candidate * TOTP_STEP), code):
            return candidate
    return None


def _enrolled(actor: str, username: str) -> AuditEvent:
    return AuditEvent(actor, AuditAction.USER_CHANGED, username, "second-factor-enrolled")


def csrf_token(session_secret: str) -> str:
    """The CSRF token of a session: a keyed hash of its secret, so it is bound to the
    session, changes with it at sign-in, and needs no storage."""
    return hmac.new(session_secret.encode(), b"secureline desk csrf", hashlib.sha256).hexdigest()
