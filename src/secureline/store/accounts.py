"""Units, users and API tokens: one named transaction per function."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    String,
    Table,
    case,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from secureline.store.database import Database
from secureline.store.dialect import as_utc
from secureline.store.errors import AlreadyExists, NotFound
from secureline.store.tables import TS, api_tokens, mailbox, messages, metadata, units, users

# Failed API authentications per source address in a fixed window: kept in the database so
# that every worker serving the API counts the same failures (migration 0005a).
auth_failures = Table(
    "auth_failures",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("window_start", TS, nullable=False),
    Column("failures", Integer, nullable=False),
)


@dataclass(frozen=True)
class UnitRow:
    name: str
    description: str
    specialist: bool
    liaison_for: str | None


@dataclass(frozen=True)
class TokenRow:
    """An API token as stored: never the secret, only its digest (not carried here)."""

    id: str
    username: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class UserRow:
    id: str
    username: str
    unit: str
    role: str
    password_hash: str
    disabled_at: datetime | None = None


@dataclass(frozen=True)
class UserSummary:
    """A user as ``user list`` shows it: never the password hash."""

    username: str
    unit: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


def add_unit(conn: Connection, unit: UnitRow, now: datetime) -> None:
    exists = conn.execute(select(units.c.name).where(units.c.name == unit.name)).first()
    if exists:
        raise AlreadyExists(f"unit {unit.name!r} already exists")
    conn.execute(
        insert(units).values(
            name=unit.name,
            description=unit.description,
            specialist=unit.specialist,
            liaison_for=unit.liaison_for,
            created_at=now,
        )
    )


def list_units(db: Database) -> list[UnitRow]:
    with db.read() as conn:
        rows = conn.execute(select(units).order_by(units.c.name)).all()
    return [UnitRow(r.name, r.description, r.specialist, r.liaison_for) for r in rows]


def get_unit(conn: Connection, name: str) -> UnitRow | None:
    r = conn.execute(select(units).where(units.c.name == name)).first()
    return UnitRow(r.name, r.description, r.specialist, r.liaison_for) if r else None


def add_user(conn: Connection, user: UserRow, now: datetime) -> None:
    if get_unit(conn, user.unit) is None:
        raise NotFound(f"unit {user.unit!r} does not exist: add it first")
    try:
        with conn.begin_nested():
            conn.execute(
                insert(users).values(
                    id=user.id,
                    username=user.username,
                    unit=user.unit,
                    role=user.role,
                    password_hash=user.password_hash,
                    created_at=now,
                )
            )
    except IntegrityError:
        raise AlreadyExists(f"user {user.username!r} already exists") from None


def get_user(
    conn: Connection, *, username: str | None = None, user_id: str | None = None
) -> UserRow | None:
    query = select(users)
    query = (
        query.where(users.c.username == username)
        if username
        else query.where(users.c.id == user_id)
    )
    return _user(conn.execute(query).first())


def _user(r: Any) -> UserRow | None:
    if r is None:
        return None
    disabled = as_utc(r.disabled_at) if r.disabled_at is not None else None
    return UserRow(r.id, r.username, r.unit, r.role, r.password_hash, disabled)


def list_users(conn: Connection) -> list[UserSummary]:
    rows = conn.execute(select(users).order_by(users.c.username)).all()
    return [
        UserSummary(
            r.username,
            r.unit,
            r.role,
            as_utc(r.created_at),
            as_utc(r.disabled_at) if r.disabled_at is not None else None,
        )
        for r in rows
    ]


def disable_user(conn: Connection, user_id: str, now: datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=now))


def add_token(
    conn: Connection, token_id: str, user_id: str, token_hash: str, label: str, now: datetime
) -> None:
    conn.execute(
        insert(api_tokens).values(
            id=token_id, user_id=user_id, token_hash=token_hash, label=label, created_at=now
        )
    )


_TOKENS = select(
    api_tokens.c.id,
    users.c.username,
    api_tokens.c.label,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
).join(users, api_tokens.c.user_id == users.c.id)


def list_tokens(conn: Connection, username: str) -> list[TokenRow]:
    rows = conn.execute(
        _TOKENS.where(users.c.username == username).order_by(
            api_tokens.c.created_at, api_tokens.c.id
        )
    )
    return [_token(*r) for r in rows]


def get_token(conn: Connection, token_id: str, *, for_update: bool = False) -> TokenRow | None:
    """The token; ``for_update`` locks its row until the transaction ends (PostgreSQL; a
    SQLite write transaction holds the whole file already)."""
    query = _TOKENS.where(api_tokens.c.id == token_id)
    if for_update:
        query = query.with_for_update(of=api_tokens)
    r = conn.execute(query).first()
    return _token(*r) if r else None


def _token(
    token_id: str, username: str, label: str, created_at: datetime, revoked_at: datetime | None
) -> TokenRow:
    revoked = as_utc(revoked_at) if revoked_at is not None else None
    return TokenRow(token_id, username, label, as_utc(created_at), revoked)


def revoke_token(conn: Connection, token_id: str, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=now))


def user_for_token(conn: Connection, token_hash: str) -> UserRow | None:
    r = conn.execute(
        select(users)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
    ).first()
    return _user(r)


def units_holding(conn: Connection, message_ids: Sequence[str]) -> dict[str, set[str]]:
    """The units that hold each message here: the sending unit of a message composed here,
    the recipient units of one delivered here (a relayed message is held by no unit)."""
    held: dict[str, set[str]] = {m: set() for m in message_ids}
    for chunk in _chunks(list(held), 500):
        for message_id, sender in conn.execute(
            select(messages.c.id, messages.c.sender).where(
                messages.c.id.in_(chunk), messages.c.direction == "out"
            )
        ):
            held[message_id].add(sender.partition("@")[0])
        for message_id, unit in conn.execute(
            select(mailbox.c.message_id, mailbox.c.unit).where(mailbox.c.message_id.in_(chunk))
        ):
            held[message_id].add(unit)
    return held


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def failures_since(conn: Connection, source: str, since: datetime) -> int:
    """Failed authentications from ``source`` in the window that began after ``since``."""
    row = conn.execute(
        select(auth_failures.c.failures).where(
            auth_failures.c.source == source, auth_failures.c.window_start > since
        )
    ).first()
    return int(row.failures) if row else 0


def note_failure(conn: Connection, source: str, now: datetime, since: datetime) -> int:
    """Count one failed authentication from ``source``; a window that began at or before
    ``since`` is over and starts again at ``now``. Returns the count in the window."""
    expired = auth_failures.c.window_start <= since
    changed = conn.execute(
        update(auth_failures)
        .where(auth_failures.c.source == source)
        .values(
            failures=case((expired, 1), else_=auth_failures.c.failures + 1),
            window_start=case((expired, now), else_=auth_failures.c.window_start),
        )
    )
    if changed.rowcount == 0:
        # a new source: old windows of other sources are dropped here, so the table holds
        # only the sources that failed recently
        conn.execute(delete(auth_failures).where(auth_failures.c.window_start <= since))
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(auth_failures).values(source=source, window_start=now, failures=1)
                )
        except IntegrityError:  # another worker counted this source's first failure first
            return note_failure(conn, source, now, since)
    return failures_since(conn, source, since)
