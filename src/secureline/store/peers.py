"""Pinned peers: the nodes this node links to directly, and nodes it knows only the keys of."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from secureline.store.database import Database
from secureline.store.errors import AlreadyExists
from secureline.store.tables import peers


@dataclass(frozen=True)
class PeerRow:
    name: str
    organisation: str
    direct: bool
    line_url: str | None
    ca_pem: str | None
    ca_fingerprint: str | None
    signing_kid: str
    signing_key: str
    encryption_kid: str
    encryption_key: str
    agreement_digest: str | None = None
    last_contact_at: datetime | None = None
    last_error: str | None = None
    link_state: str | None = None
    link_changed_at: datetime | None = None
    failed_attempts: int = 0
    next_attempt_at: datetime | None = None
    last_evidence_kind: str | None = None  # the newest evidence the peer signed, and when
    last_evidence_at: datetime | None = None
    stated_protocol: int | None = None  # what it last stated on the line (0010c)
    stated_kinds: str | None = None  # a JSON list of kind names
    stated_at: datetime | None = None


_LINK_COLUMNS = (
    "stated_protocol",
    "stated_kinds",
    "stated_at",
    "last_contact_at",
    "last_error",
    "link_state",
    "link_changed_at",
    "failed_attempts",
    "next_attempt_at",
)


def add_peer(conn: Connection, peer: PeerRow, now: datetime) -> None:
    if conn.execute(select(peers.c.name).where(peers.c.name == peer.name)).first():
        raise AlreadyExists(f"peer {peer.name!r} is already pinned")
    values = {k: v for k, v in peer.__dict__.items() if k not in _LINK_COLUMNS}
    conn.execute(insert(peers).values(**values, added_at=now))


def list_peers(db: Database) -> list[PeerRow]:
    with db.read() as conn:
        rows = conn.execute(select(peers).order_by(peers.c.name)).all()
    return [
        PeerRow(
            r.name,
            r.organisation,
            r.direct,
            r.line_url,
            r.ca_pem,
            r.ca_fingerprint,
            r.signing_kid,
            r.signing_key,
            r.encryption_kid,
            r.encryption_key,
            r.agreement_digest,
            r.last_contact_at,
            r.last_error,
            r.link_state,
            r.link_changed_at,
            int(r.failed_attempts or 0),
            r.next_attempt_at,
            r.last_evidence_kind,
            r.last_evidence_at,
            r.stated_protocol,
            r.stated_kinds,
            r.stated_at,
        )
        for r in rows
    ]


def record_statement(db: Database, name: str, protocol: int, kinds: str, now: datetime) -> None:
    """What ``name`` stated on the line (its kinds as a JSON list), replacing the last."""
    with db.transaction() as conn:
        conn.execute(
            update(peers)
            .where(peers.c.name == name)
            .values(stated_protocol=protocol, stated_kinds=kinds, stated_at=now)
        )


def record_contact(
    db: Database, name: str, now: datetime, *, error: str | None, agreement_digest: str | None
) -> None:
    values: dict[str, object] = {"last_error": error}
    if error is None:
        values["last_contact_at"] = now
    if agreement_digest is not None:
        values["agreement_digest"] = agreement_digest
    with db.transaction() as conn:
        conn.execute(update(peers).where(peers.c.name == name).values(**values))


@dataclass(frozen=True)
class LinkChange:
    """What one attempt did to a link's recorded state."""

    previous: str | None
    state: str
    failed_attempts: int
    next_attempt_at: datetime | None


def link_status(db: Database, name: str) -> tuple[str | None, datetime | None]:
    """The link's recorded state, and the time before which no sender tries it."""
    with db.read() as conn:
        row = conn.execute(
            select(peers.c.link_state, peers.c.next_attempt_at).where(peers.c.name == name)
        ).first()
    return (row[0], row[1]) if row else (None, None)


def record_attempt(
    db: Database,
    name: str,
    now: datetime,
    *,
    state: str,
    error: str | None = None,
    delay: Callable[[int], float] | None = None,
    agreement_digest: str | None = None,
) -> LinkChange:
    """Record an attempt on a link: ``up`` clears the failures; ``down`` or ``backoff``
    counts one more and sets the next attempt ``delay(failures)`` seconds ahead. Read and
    written under the row's lock, so that concurrent senders count every failure once."""
    with db.transaction() as conn:
        query = select(peers.c.link_state, peers.c.failed_attempts).where(peers.c.name == name)
        row = conn.execute(query.with_for_update()).first()
        previous, failures = (row[0], int(row[1] or 0)) if row else (None, 0)
        values: dict[str, object] = {"link_state": state, "last_error": error}
        if state == "up":
            failures, next_at = 0, None
            values["last_contact_at"] = now
        else:
            failures += 1
            next_at = now + timedelta(seconds=delay(failures)) if delay else now
        values.update(failed_attempts=failures, next_attempt_at=next_at)
        if previous != state:
            values["link_changed_at"] = now
        if agreement_digest is not None:
            values["agreement_digest"] = agreement_digest
        conn.execute(update(peers).where(peers.c.name == name).values(**values))
    return LinkChange(previous, state, failures, next_at)
