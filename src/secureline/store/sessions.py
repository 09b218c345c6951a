"""Login sessions of people at the command line: one named transaction per function.

A session is a random secret handed to the person once (``secureline login`` writes it to
a file only they can read) and kept here as its SHA-256 digest, with an expiry. The
database is the truth: every worker and every CLI process on the node sees the same
sessions, and ending one (logout, or disabling the user) holds at once everywhere.

The desk's sessions are in a table of their own (``store/desk_auth.py``) with the same
columns and two more; the functions here serve both (``table=``).

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
    """A session with its user, as a face needs it to act as that person."""

    id: str
    user_id: str
    username: str
    unit: str
    role: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    user_disabled_at: datetime | None
    #: the desk's: 'password' (the second factor is due) or 'full'; a CLI session is full
    stage: str = "full"
    #: the desk's last request, which its idle timeout runs from (None: no idle timeout)
    seen_at: datetime | None = None


# The functions below serve both session tables, this one and the desk's
# (``store/desk_auth.py``), which share their columns but for the desk's ``stage`` and
# ``seen_at``: one way to add, find, touch and end a session.


def add_session(
    conn: Connection,
    session_id: str,
    user_id: str,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    *,
    table: Table = sessions,
    stage: str | None = None,
) -> None:
    values: dict[str, object] = {
        "id": session_id,
        "user_id": user_id,
        "token_hash": token_hash,
        "created_at": now,
        "expires_at": expires_at,
    }
    if "stage" in table.c:
        values["stage"] = stage or "full"
    if "seen_at" in table.c:
        values["seen_at"] = now
    conn.execute(insert(table).values(**values))


def session_for(conn: Connection, token_hash: str, *, table: Table = sessions) -> SessionRow | None:
    """The session whose secret has this digest, ended or expired ones included (so that
    the caller can say why it is refused)."""
    s = table
    extra = [s.c[name] for name in ("stage", "seen_at") if name in s.c]
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
            *extra,
        )
        .join(users, users.c.id == s.c.user_id)
        .where(s.c.token_hash == token_hash)
    ).first()
    if r is None:
        return None
    found = r._mapping
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
        stage=found.get("stage") or "full",
        seen_at=as_utc(found["seen_at"]) if found.get("seen_at") is not None else None,
    )


def touch_session(
    conn: Connection, session_id: str, now: datetime, *, table: Table = sessions
) -> None:
    """The session was used now (its idle timeout starts again); for a table with
    ``seen_at``."""
    conn.execute(update(table).where(table.c.id == session_id).values(seen_at=now))


def end_session(
    conn: Connection, session_id: str, now: datetime, *, table: Table = sessions
) -> bool:
    """End a session; False when it had already ended (another process ended it first)."""
    changed = conn.execute(
        update(table)
        .where(table.c.id == session_id, table.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return changed.rowcount == 1
