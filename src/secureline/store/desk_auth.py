"""The desk's sign-in: second factors, recovery codes and browser sessions.

Kept apart from the CLI's ``sessions`` table on purpose: a desk session lives in a browser
cookie, goes through a half-signed-in stage (password checked, second factor not yet), and
ends by idle time as well as by age; a CLI session has neither. Every worker reads the same
rows, so a sign-out or a disabling holds at once everywhere. Secrets are stored as SHA-256
digests (the session cookie, the recovery codes); the TOTP key itself must be kept, since
the node computes the expected codes from it.

The sessions' rows are added, found, touched and ended by the functions of
``store/sessions.py`` (``table=desk_sessions``): the two tables differ only by the desk's
``stage`` and ``seen_at``.
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

from secureline.store.tables import ID, TS, metadata

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
class SecondFactorRow:
    totp_secret: str
    last_step: int


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
