"""Units, users and API tokens.

No account exists until an administrator makes one: there are no default users or
passwords. Passwords are hashed with argon2id; API tokens are 256-bit random secrets shown
once and stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import Connection

from secureline.domain.addresses import EVERY_UNIT, check_name
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import DomainError, InvalidAddress
from secureline.services.audit import AuditLog
from secureline.services.errors import Conflict, InvalidInput, NotAuthenticated, NotFoundError
from secureline.services.roles import Principal, Role
from secureline.store import accounts as store
from secureline.store.database import Database
from secureline.store.errors import AlreadyExists, NotFound

#: Failed API authentications allowed per source address in a window; past the limit, every
#: request from that source is refused (429) until the window ends, without its token being
#: looked at. Counted in the database, so every worker serving the API shares the count.
AUTH_FAILURE_LIMIT = 10
AUTH_FAILURE_WINDOW = timedelta(minutes=5)
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9_\-.~+/]+=*)")
TOKEN_PREFIX = "slt_"  # noqa: S105 (a visible prefix, not a secret: lets scanners spot leaked tokens)
MIN_PASSWORD_LENGTH = 12


class TooManyFailures(NotAuthenticated):
    """A source address failed to authenticate too often; refused until its window ends."""

    code = "too_many_failures"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Accounts:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._hasher = PasswordHasher()  # argon2id with the library's current defaults

    def add_unit(
        self,
        actor: str,
        name: str,
        *,
        description: str = "",
        specialist: bool = False,
        liaison_for: str | None = None,
    ) -> store.UnitRow:
        try:
            check_name(name, "unit")
            if name == EVERY_UNIT:  # means every unit of this node in an address
                raise InvalidAddress("unit", f"{EVERY_UNIT!r} is reserved: it means every unit")
            if liaison_for is not None:
                check_name(liaison_for, "liaison_for")
        except DomainError as exc:
            raise InvalidInput(exc.field, exc.reason) from None
        unit = store.UnitRow(name, description, specialist, liaison_for)
        try:
            with self._db.transaction() as conn:
                store.add_unit(conn, unit, self._clock())
                detail = {"specialist": str(specialist), "liaison_for": liaison_for or ""}
                self._audit.record(
                    conn, [AuditEvent(actor, AuditAction.UNIT_CHANGED, name, "created", detail)]
                )
        except AlreadyExists as exc:
            raise Conflict(str(exc)) from None
        return unit

    def units(self) -> list[store.UnitRow]:
        return store.list_units(self._db)

    def add_user(self, actor: str, username: str, unit: str, role: str, password: str) -> Principal:
        try:
            check_name(username, "username")
        except DomainError as exc:
            raise InvalidInput("username", exc.reason) from None
        try:
            parsed_role = Role(role)
        except ValueError:
            raise InvalidInput("role", f"{role!r} is not one of {', '.join(Role)}") from None
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
        row = store.UserRow(
            secrets.token_hex(16), username, unit, parsed_role, self._hasher.hash(password)
        )
        try:
            with self._db.transaction() as conn:
                store.add_user(conn, row, self._clock())
                self._audit.record(
                    conn,
                    [
                        AuditEvent(
                            actor,
                            AuditAction.USER_CHANGED,
                            username,
                            "created",
                            {"unit": unit, "role": role},
                        )
                    ],
                )
        except AlreadyExists as exc:
            raise Conflict(str(exc)) from None
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        return Principal(row.id, username, unit, parsed_role)

    def create_token(self, actor: str, username: str, label: str = "") -> str:
        """A new API token for ``username``; the secret is returned once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db.transaction() as conn:
            user = store.get_user(conn, username=username)
            if user is None:
                raise NotFoundError(f"user {username!r} does not exist")
            token_id = secrets.token_hex(8)
            store.add_token(conn, token_id, user.id, token_hash(token), label, self._clock())
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        actor,
                        AuditAction.TOKEN_CHANGED,
                        username,
                        "created",
                        {"token_id": token_id},
                    )
                ],
            )
        return token

    def tokens(self, username: str) -> list[store.TokenRow]:
        """The user's tokens, revoked ones included (never their secrets)."""
        with self._db.read() as conn:
            if store.get_user(conn, username=username) is None:
                raise NotFoundError(f"user {username!r} does not exist")
            return store.list_tokens(conn, username)

    def revoke_token(self, actor: str, token_id: str) -> store.TokenRow:
        """Revoke a token at once: the next request that carries it is refused."""
        with self._db.transaction() as conn:
            token = store.get_token(conn, token_id, for_update=True)
            if token is None:
                raise NotFoundError(f"token {token_id!r} does not exist")
            if token.revoked_at is not None:
                revoked = f"{token.revoked_at:%Y-%m-%d %H:%M:%S} UTC"
                raise Conflict(f"token {token_id!r} was already revoked at {revoked}")
            store.revoke_token(conn, token_id, self._clock())
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        actor,
                        AuditAction.TOKEN_CHANGED,
                        token.username,
                        "revoked",
                        {"token_id": token_id},
                    )
                ],
            )
        return token

    def authenticate_token(self, token: str | None) -> Principal:
        with self._db.read() as conn:
            return self._token_principal(conn, token)

    @staticmethod
    def _token_principal(conn: Connection, token: str | None) -> Principal:
        if not token or not token.startswith(TOKEN_PREFIX):
            raise NotAuthenticated("a valid API token is required (Authorization: Bearer slt_...)")
        user = store.user_for_token(conn, token_hash(token))
        if user is None:
            raise NotAuthenticated("the API token is unknown or revoked")
        if user.disabled_at is not None:
            raise NotAuthenticated(f"user {user.username!r} is disabled", code="user_disabled")
        return Principal(user.id, user.username, user.unit, Role(user.role))

    def authenticate_request(self, authorization: str | None, source: str) -> Principal:
        """Authenticate an API request by its ``Authorization`` header, which must be exactly
        ``Bearer <token>`` (a bare token is refused). A failure is counted against ``source``
        (the client's address) and audited; a source past :data:`AUTH_FAILURE_LIMIT`
        failures in :data:`AUTH_FAILURE_WINDOW` is refused outright until the window ends."""
        now = self._clock()
        since = now - AUTH_FAILURE_WINDOW
        source = source[:64]
        match = _BEARER.fullmatch(authorization or "")
        try:
            # One read for both: a request's authentication is on every call's path.
            with self._db.read() as conn:
                if store.failures_since(conn, source, since) >= AUTH_FAILURE_LIMIT:
                    raise TooManyFailures(
                        f"too many failed authentications from this address: wait up to "
                        f"{int(AUTH_FAILURE_WINDOW.total_seconds())} s",
                        retry_after=int(AUTH_FAILURE_WINDOW.total_seconds()),
                    )
                if match is None:
                    raise NotAuthenticated(
                        "an API token is required as 'Authorization: Bearer slt_...'"
                    )
                return self._token_principal(conn, match.group(1))
        except TooManyFailures:
            raise  # refused without looking at the token: not counted again
        except NotAuthenticated as exc:
            self._note_failure(source, now, since, exc.message)
            raise

    def _note_failure(self, source: str, now: datetime, since: datetime, why: str) -> None:
        with self._db.transaction() as conn:
            count = store.note_failure(conn, source, now, since)
            outcome = "locked" if count >= AUTH_FAILURE_LIMIT else "refused"
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        f"api:{source}",
                        AuditAction.LOGIN_FAILURE,
                        "api-token",
                        outcome,
                        {"source": source, "reason": why, "failures": str(count)},
                    )
                ],
            )

    def login(self, username: str, password: str) -> Principal:
        """Check a password; every attempt, good or bad, is audited. A disabled user is
        refused even with the right password (and told so only then)."""
        with self._db.read() as conn:
            user = store.get_user(conn, username=username)
        ok = False
        if user is not None:
            try:
                ok = self._hasher.verify(user.password_hash, password)
            except (VerifyMismatchError, VerificationError):
                ok = False
        disabled = ok and user is not None and user.disabled_at is not None
        action = AuditAction.LOGIN_SUCCESS if ok and not disabled else AuditAction.LOGIN_FAILURE
        outcome = "disabled" if disabled else "ok" if ok else "refused"
        self._audit.append([AuditEvent(username, action, username, outcome)])
        if disabled:
            raise NotAuthenticated(
                f"user {username!r} is disabled: ask the node's administrator", code="user_disabled"
            )
        if not ok or user is None:
            raise NotAuthenticated("unknown user or wrong password")
        return Principal(user.id, user.username, user.unit, Role(user.role))

    def users(self) -> list[store.UserSummary]:
        with self._db.read() as conn:
            return store.list_users(conn)

    def disable_user(self, actor: str, username: str) -> None:
        """Disable a user at once: their password, tokens and sessions stop working on the
        next request (every check reads ``disabled_at``). The row stays, for the audit
        chain's names and the messages' history."""
        with self._db.transaction() as conn:
            user = store.get_user(conn, username=username)
            if user is None:
                raise NotFoundError(f"user {username!r} does not exist")
            if user.disabled_at is not None:
                when = f"{user.disabled_at:%Y-%m-%d %H:%M:%S} UTC"
                raise Conflict(f"user {username!r} was already disabled at {when}")
            store.disable_user(conn, user.id, self._clock())
            self._audit.record(
                conn, [AuditEvent(actor, AuditAction.USER_CHANGED, username, "disabled")]
            )


def token_hash(token: str) -> str:
    """The digest a token or session secret is stored as (never the secret itself)."""
    return hashlib.sha256(token.encode()).hexdigest()
