"""Pinned peers: the nodes this node links to directly, and nodes it knows only the keys of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def add_peer(conn: Connection, peer: PeerRow, now: datetime) -> None:
    if conn.execute(select(peers.c.name).where(peers.c.name == peer.name)).first():
        raise AlreadyExists(f"peer {peer.name!r} is already pinned")
    values = {k: v for k, v in peer.__dict__.items() if k not in {"last_contact_at", "last_error"}}
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
        )
        for r in rows
    ]


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
