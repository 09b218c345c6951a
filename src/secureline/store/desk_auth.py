"""The desk's sign-in: second factors, recovery codes and browser sessions.

Kept apart from the CLI's ``sessions`` table on purpose: a desk session lives in a browser
cookie, goes through a half-signed-in stage (password checked, second factor not yet), and
ends by idle time as well as by age; a CLI session has neither. Every worker reads the same
rows, so a sign-out or a disabling holds at once everywhere. Secrets are stored as SHA-256
digests (the session cookie, the recovery codes); the TOTP key itself must be kept, since
the node computes the expected codes from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from secureline.store.dialect import as_utc
from secureline.store.tables import ID, TS, metadata, users

second_factors = Table(
    "desk_second_factors",
    metadata,
    Column("user_id", ID, ForeignKey("users.id"), primary_key=True),
    Column("totp_secret", String(64), nullable=False),  # base32, as RFC 6238 apps take it
    Column("enrolled_at", TS, nullable=False),
    # the last time step whose code was accepted: a code is good once (RFC 6238, 5.2)
    Column("last_step", BigInteger, nullable=False),
)

recovery_codes = Table(
    "desk_recovery_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),  # SHA-256 of a 80-bit random code
    Column("user_id", ID, ForeignKey("users.id"), nullable=False),
    Column("used_at", TS, nullable=True),
    Index(None, "user_id"),
)

desk_sessions = Table(
    "desk_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the cookie
    Column("stage", String(16), nullable=False),  # 'password' (second factor due) or 'full'
    Column("created_at", TS, nullable=False),
    Column("seen_at", TS, nullable=False),  # the last request: the idle timeout runs from it
    Column("expires_at", TS, nullable=False),  # the absolute timeout
    Column("ended_at", TS, nullable=True),  # sign-out, rotation, or the second step done
    Index(None, "user_id"),
)


@dataclass(frozen=True)
class DeskSessionRow:
    id: str
    user_id: str
    username: str
    unit: str
    role: str
    stage: str
    created_at: datetime
    seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    user_disabled_at: datetime | None


@dataclass(frozen=True)
class SecondFactorRow:
    totp_secret: str
    last_step: int


def add_session(
    conn: Connection,
    session_id: str,
    user_id: str,
    token_hash: str,
    stage: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        insert(desk_sessions).values(
            id=session_id,
            user_id=user_id,
            token_hash=token_hash,
            stage=stage,
            created_at=now,
            seen_at=now,
            expires_at=expires_at,
        )
    )


def session_for(conn: Connection, token_hash: str) -> DeskSessionRow | None:
    """The session whose cookie has this digest, ended ones included (the caller says why)."""
    s = desk_sessions
    r = conn.execute(
        select(
            s.c.id,
            s.c.user_id,
            users.c.username,
            users.c.unit,
            users.c.role,
            s.c.stage,
            s.c.created_at,
            s.c.seen_at,
            s.c.expires_at,
            s.c.ended_at,
            users.c.disabled_at,
        )
        .join(users, users.c.id == s.c.user_id)
        .where(s.c.token_hash == token_hash)
    ).first()
    if r is None:
        return None
    return DeskSessionRow(
        r.id,
        r.user_id,
        r.username,
        r.unit,
        r.role,
        r.stage,
        as_utc(r.created_at),
        as_utc(r.seen_at),
        as_utc(r.expires_at),
        as_utc(r.ended_at) if r.ended_at is not None else None,
        as_utc(r.disabled_at) if r.disabled_at is not None else None,
    )


def touch_session(conn: Connection, session_id: str, now: datetime) -> None:
    conn.execute(update(desk_sessions).where(desk_sessions.c.id == session_id).values(seen_at=now))


def end_session(conn: Connection, session_id: str, now: datetime) -> bool:
    """End a session; False when it had already ended (another request ended it first)."""
    changed = conn.execute(
        update(desk_sessions)
        .where(desk_sessions.c.id == session_id, desk_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return changed.rowcount == 1


def second_factor(conn: Connection, user_id: str) -> SecondFactorRow | None:
    r = conn.execute(
        select(second_factors.c.totp_secret, second_factors.c.last_step).where(
            second_factors.c.user_id == user_id
        )
    ).first()
    return SecondFactorRow(r.totp_secret, int(r.last_step)) if r else None


def set_second_factor(
    conn: Connection, user_id: str, secret: str, now: datetime, code_hashes: list[str]
) -> None:
    """Enrol (or re-enrol) a user: the old key and recovery codes are gone."""
    conn.execute(delete(second_factors).where(second_factors.c.user_id == user_id))
    conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    conn.execute(
        insert(second_factors).values(
            user_id=user_id, totp_secret=secret, enrolled_at=now, last_step=0
        )
    )
    if code_hashes:
        conn.execute(
            insert(recovery_codes), [{"code_hash": h, "user_id": user_id} for h in code_hashes]
        )


def clear_second_factor(conn: Connection, user_id: str, now: datetime) -> bool:
    """Remove a user's key and recovery codes and end their desk sessions (an
    administrator's reset: the next sign-in enrols again); False when none was enrolled."""
    removed = conn.execute(delete(second_factors).where(second_factors.c.user_id == user_id))
    conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    conn.execute(
        update(desk_sessions)
        .where(desk_sessions.c.user_id == user_id, desk_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return removed.rowcount == 1


def use_step(conn: Connection, user_id: str, step: int) -> bool:
    """Record ``step`` as used; False when it (or a later one) was used already: a replay.
    One conditional update, so two workers cannot both accept the same code."""
    changed = conn.execute(
        update(second_factors)
        .where(second_factors.c.user_id == user_id, second_factors.c.last_step < step)
        .values(last_step=step)
    )
    return changed.rowcount == 1


def use_recovery_code(conn: Connection, user_id: str, code_hash: str, now: datetime) -> bool:
    """Spend a recovery code; False when it is unknown, another user's, or spent."""
    changed = conn.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.code_hash == code_hash,
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return changed.rowcount == 1
