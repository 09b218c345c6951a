"""Login sessions of people at the command line: one named transaction per function.

A session is a random secret handed to the person once (``secureline login`` writes it to
a file only they can read) and kept here as its SHA-256 digest, with an expiry. The
database is the truth: every worker and every CLI process on the node sees the same
sessions, and ending one (logout, or disabling the user) holds at once everywhere.

Kept apart from ``api_tokens`` on purpose: a token is a long-lived credential for a script
that an administrator issues and revokes; a session is a person's, expires by itself, ends
at logout, and is never accepted by the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, ForeignKey, Index, String, Table, insert, select, update

from secureline.store.dialect import as_utc
from secureline.store.tables import ID, TS, metadata, users

sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the secret
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("ended_at", TS, nullable=True),  # logout
    Index(None, "user_id"),
)


@dataclass(frozen=True)
class SessionRow:
    """A session with its user, as the CLI needs it to act as that person."""

    id: str
    user_id: str
    username: str
    unit: str
    role: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    user_disabled_at: datetime | None


def add_session(
    conn: Connection,
    session_id: str,
    user_id: str,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        insert(sessions).values(
            id=session_id,
            user_id=user_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


def session_for(conn: Connection, token_hash: str) -> SessionRow | None:
    """The session whose secret has this digest, ended or expired ones included (so that
    the caller can say why it is refused)."""
    s = sessions
    r = conn.execute(
        select(
            s.c.id,
            s.c.user_id,
            users.c.username,
            users.c.unit,
            users.c.role,
            s.c.created_at,
            s.c.expires_at,
            s.c.ended_at,
            users.c.disabled_at,
        )
        .join(users, users.c.id == s.c.user_id)
        .where(s.c.token_hash == token_hash)
    ).first()
    if r is None:
        return None
    return SessionRow(
        r.id,
        r.user_id,
        r.username,
        r.unit,
        r.role,
        as_utc(r.created_at),
        as_utc(r.expires_at),
        as_utc(r.ended_at) if r.ended_at is not None else None,
        as_utc(r.disabled_at) if r.disabled_at is not None else None,
    )


def end_session(conn: Connection, session_id: str, now: datetime) -> bool:
    """End a session; False when it had already ended (another process logged out)."""
    changed = conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return changed.rowcount == 1
