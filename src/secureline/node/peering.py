"""Peering: peer files exchanged between administrators, pinned after an out-of-band check.

A peer file carries the node's name, line URL, CA certificate and public keys, and the
protocol version and message kinds the node supports. Its *fingerprint* (SHA-256 over the
name, the CA certificate, both public keys and, when the file states them, the version and
kinds) is what two administrators read to each other on the phone before either pins the
other: so what a node says it supports is as authenticated as its keys. A file of an older
node states neither and keeps its fingerprint; it is read as protocol 1 with its kinds.

The capabilities of a pinned peer are kept next to the agreements, in
``peers/<name>.json`` of the node directory (services/line/capabilities.py).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from secureline.crypto import pki
from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import EncryptionPublicKey, VerifyKey, load_encryption_key
from secureline.domain.addresses import check_name
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import DomainError
from secureline.domain.vocabulary import PROTOCOL_VERSION
from secureline.node.config import NodeConfig
from secureline.node.errors import NodeError
from secureline.node.layout import NodeLayout
from secureline.services.audit import AuditLog
from secureline.services.line.capabilities import (
    PROTOCOL_1,
    Capabilities,
    parse_capabilities,
    write_capabilities,
)
from secureline.services.line.directory import Directory
from secureline.store import peers as peer_store
from secureline.store.database import Database
from secureline.store.errors import AlreadyExists
from secureline.store.line import deliveries as delivery_store

PEER_FILE_VERSION = 1
#: The text fields of a peer file, every one required.
_TEXT_FIELDS = (
    "node",
    "organisation",
    "line_url",
    "ca_pem",
    "signing_kid",
    "signing_key",
    "encryption_kid",
    "encryption_key",
)


@dataclass(frozen=True)
class PeerFile:
    node: str
    organisation: str
    line_url: str
    ca_pem: str
    signing_kid: str
    signing_key: str
    encryption_kid: str
    encryption_key: str
    # None: a file of a node older than protocol versions (read as protocol 1, its kinds)
    capabilities: Capabilities | None = None

    @property
    def fingerprint(self) -> str:
        covered = [
            self.node,
            self.ca_pem,
            self.signing_kid,
            self.signing_key,
            self.encryption_kid,
            self.encryption_key,
        ]
        if self.capabilities is not None:  # absent, the fingerprint of an older file is kept
            covered += [
                f"protocol={self.capabilities.protocol}",
                "kinds=" + ",".join(sorted(self.capabilities.kinds)),
            ]
        digest = hashlib.sha256("\n".join(covered).encode()).hexdigest().upper()
        return " ".join(digest[i : i + 4] for i in range(0, 32, 4))

    def to_json(self) -> bytes:
        body: dict[str, Any] = {"v": PEER_FILE_VERSION}
        body |= {name: getattr(self, name) for name in _TEXT_FIELDS}
        if self.capabilities is not None:
            body |= self.capabilities.to_json()
        body["fingerprint"] = self.fingerprint
        return orjson.dumps(body, option=orjson.OPT_INDENT_2)


def parse_peer_file(data: bytes, source: str) -> PeerFile:
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NodeError(source, f"not a peer file (not JSON: {exc})") from None
    if not isinstance(raw, dict) or raw.get("v") != PEER_FILE_VERSION:
        raise NodeError(source, f"not a version {PEER_FILE_VERSION} peer file")
    missing = [f for f in _TEXT_FIELDS if not isinstance(raw.get(f), str)]
    if missing:
        raise NodeError(source, f"missing or not text: {', '.join(missing)}")
    try:
        capabilities = parse_capabilities(raw)
    except ValueError as exc:
        raise NodeError(source, str(exc)) from None
    peer = PeerFile(**{f: raw[f] for f in _TEXT_FIELDS}, capabilities=capabilities)
    try:
        check_name(peer.node, "node")
        pki.certificate_from_pem(peer.ca_pem.encode())
        VerifyKey.from_text(peer.signing_kid, peer.signing_key)
        EncryptionPublicKey.from_text(peer.encryption_kid, peer.encryption_key)
    except (DomainError, CryptoError) as exc:
        raise NodeError(source, str(exc)) from None
    if not peer.signing_kid.startswith(peer.node + "/"):
        raise NodeError(source, "the signing key id does not name the node")
    if raw.get("fingerprint") not in (None, peer.fingerprint):
        raise NodeError(source, "the fingerprint in the file does not match its contents")
    return peer


class PeerAdmin:
    def __init__(
        self,
        node: str,
        config: NodeConfig,
        layout: NodeLayout,
        db: Database,
        directory: Directory,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._node = node
        self._config = config
        self._layout = layout
        self._db = db
        self._directory = directory
        self._audit = audit
        self._clock = clock

    def export(self) -> PeerFile:
        from secureline.crypto.keys import load_signing_key

        passphrase = self._config.passphrase()
        try:
            signing = load_signing_key(
                self._layout.signing_key, self._node, passphrase
            ).verify_key()
            encryption = load_encryption_key(
                self._layout.encryption_key, self._node, passphrase
            ).public_key()
        except CryptoError as exc:
            raise NodeError("keys", str(exc)) from None
        return PeerFile(
            node=self._node,
            organisation=self._config.node.organisation,
            line_url=self._config.line.public_url,
            ca_pem=self._layout.ca_certificate.read_text(encoding="ascii"),
            signing_kid=signing.kid,
            signing_key=signing.to_text(),
            encryption_kid=encryption.kid,
            encryption_key=encryption.to_text(),
            capabilities=Capabilities.of(PROTOCOL_VERSION, self._config.line.supported_kinds),
        )

    def add(
        self, peer: PeerFile, actor: str, *, direct: bool = True, line_url: str | None = None
    ) -> None:
        """Pin a peer (a direct link) or a node we only reach through routes (direct=False).

        A peer already pinned with the same keys and CA may be added again with a new file:
        only what it states it supports (protocol, kinds) is taken, as after its upgrade."""
        if peer.node == self._node:
            raise NodeError("peer", "a node cannot peer with itself")
        row = peer_store.PeerRow(
            name=peer.node,
            organisation=peer.organisation,
            direct=direct,
            line_url=(line_url or peer.line_url) if direct else None,
            ca_pem=peer.ca_pem if direct else None,
            ca_fingerprint=pki.fingerprint(pki.certificate_from_pem(peer.ca_pem.encode()))
            if direct
            else None,
            signing_kid=peer.signing_kid,
            signing_key=peer.signing_key,
            encryption_kid=peer.encryption_kid,
            encryption_key=peer.encryption_key,
        )
        try:
            with self._db.transaction() as conn:
                peer_store.add_peer(conn, row, self._clock())
                self._audit.record(conn, [self._pinned(actor, peer, "pinned", direct)])
        except AlreadyExists as exc:
            if not self._same_pin(row):
                raise NodeError("peer", f"{exc} with other keys or another CA") from None
            self._audit.append([self._pinned(actor, peer, "capabilities_changed", direct)])
        path = self._layout.peer_capabilities(peer.node)
        if peer.capabilities is None:  # an older node's file: protocol 1, no file needed
            path.unlink(missing_ok=True)
        else:
            write_capabilities(path, peer.capabilities)
        self._directory.reload()

    @staticmethod
    def _pinned(actor: str, peer: PeerFile, outcome: str, direct: bool) -> AuditEvent:
        capabilities = peer.capabilities or PROTOCOL_1
        return AuditEvent(
            actor,
            AuditAction.PEER_CHANGED,
            peer.node,
            outcome,
            {
                "fingerprint": peer.fingerprint,
                "direct": str(direct),
                "protocol": str(capabilities.protocol),
            },
        )

    def _same_pin(self, row: peer_store.PeerRow) -> bool:
        pinned = next((p for p in peer_store.list_peers(self._db) if p.name == row.name), None)
        same = (
            "direct",
            "ca_pem",
            "signing_kid",
            "signing_key",
            "encryption_kid",
            "encryption_key",
        )
        return pinned is not None and all(getattr(pinned, f) == getattr(row, f) for f in same)

    def link_health(self) -> list[dict[str, Any]]:
        """Each link: its state (up, down, backing off, stalled), failed attempts, queue
        depth (queued and in flight), oldest undelivered, envelopes set aside, agreement,
        alarms (thresholds in node.toml's [line] and [alarms])."""
        now = self._clock()
        stats = delivery_store.queue_stats(self._db)
        rows = {r.name: r for r in peer_store.list_peers(self._db)}
        alarm_after = self._config.line.undelivered_alarm_seconds
        thresholds = self._config.alarms
        result = []
        for peer in self._directory.peers():
            row = rows.get(peer.name)
            queue = stats.get(peer.name)
            oldest_age = (
                (now - _aware(queue.oldest)).total_seconds() if queue and queue.oldest else None
            )
            in_flight_age = (
                (now - _aware(queue.oldest_in_flight)).total_seconds()
                if queue and queue.oldest_in_flight
                else None
            )
            stalled = in_flight_age is not None and in_flight_age > thresholds.stalled_seconds
            ours = self._directory.agreement_digest(peer.name) if peer.direct else None
            theirs = row.agreement_digest if row else None
            problem = self._directory.agreement(peer.name).problem if peer.direct else None
            state = row.link_state if row and peer.direct else None
            depth = queue.depth if queue else 0
            failed = queue.failed if queue else 0
            alarms = []
            if oldest_age is not None and oldest_age > alarm_after:
                alarms.append(f"undelivered for {int(oldest_age)} s (alarm after {alarm_after} s)")
            if stalled:
                alarms.append(
                    f"stalled: a push has waited {int(in_flight_age or 0)} s for its answer"
                )
            if state in ("down", "backoff") and row and row.link_changed_at:
                down_for = (now - _aware(row.link_changed_at)).total_seconds()
                if down_for > thresholds.link_down_seconds:
                    alarms.append(
                        f"link {_STATE_WORDS[state]} for {int(down_for)} s, "
                        f"{row.failed_attempts} failed attempts"
                    )
            if depth > thresholds.queue_depth:
                alarms.append(f"{depth} envelopes queued (alarm over {thresholds.queue_depth})")
            if failed:
                alarms.append(
                    f"{failed} envelope(s) set aside as failed: secureline peer retry|drop"
                )
            if peer.direct and problem:
                alarms.append(f"no agreement: {problem}")
            mismatch = bool(ours and theirs and ours != theirs)
            if mismatch or (row and row.last_error and "agreement_mismatch" in row.last_error):
                alarms.append(
                    "agreement mismatch: traffic stopped until both hold the same agreement"
                )
            result.append(
                {
                    "peer": peer.name,
                    "organisation": peer.organisation,
                    "direct": peer.direct,
                    "route": self._directory.next_hop(peer.name),
                    "connected": bool(
                        row and row.last_contact_at and not row.last_error and not stalled
                    ),
                    "link_state": "stalled" if stalled else state,
                    "failed_attempts": row.failed_attempts if row else 0,
                    "next_attempt_at": _iso(row.next_attempt_at) if row else None,
                    "last_contact_at": _iso(row.last_contact_at) if row else None,
                    "last_error": row.last_error if row else None,
                    "last_evidence": (
                        {"kind": row.last_evidence_kind, "at": _iso(row.last_evidence_at)}
                        if row and row.last_evidence_at
                        else None
                    ),
                    "queue_depth": depth,
                    "in_flight": queue.in_flight if queue else 0,
                    "oldest_undelivered_seconds": oldest_age,
                    "oldest_in_flight_seconds": in_flight_age,
                    "failed": failed,
                    "failed_envelopes": self._failed_envelopes(peer.name) if failed else [],
                    "agreement_digest": ours,
                    "peer_agreement_digest": theirs,
                    "ca_expires_at": _ca_expiry(row.ca_pem) if row and row.ca_pem else None,
                    **_capabilities(peer.capabilities, row),
                    "alarms": alarms,
                }
            )
        return result

    def certificate_expiry(self) -> str:
        """When this node's own TLS certificate expires (ISO 8601, UTC)."""
        certificate = pki.certificate_from_pem(self._layout.tls_certificate.read_bytes())
        return certificate.not_valid_after_utc.isoformat()

    def _failed_envelopes(self, next_hop: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = delivery_store.failed_deliveries(conn, limit=FAILED_SHOWN)
        return [
            {
                "message_id": f.message_id,
                "destination": f.destination,
                "code": f.reason_code,
                "answer": f.reason_text,
                "attempts": f.attempts,
                "failed_at": _iso(f.updated_at),
            }
            for f in rows
            if f.next_hop == next_hop
        ]

    def resolve_failed(self, message_id: str, decision: str, actor: str) -> list[str]:
        """An administrator's decision on a message's envelopes set aside: ``retry`` queues
        them again (attempts cleared), ``drop`` gives them up (state ``dropped``); audited."""
        if decision not in ("retry", "drop"):
            raise NodeError("decision", f"must be retry or drop, not {decision!r}")
        now = self._clock()
        with self._db.transaction() as conn:
            failed = delivery_store.failed_deliveries(conn, message_id)
            if not failed:
                raise NodeError(
                    "message_id", f"{message_id} has no envelope set aside as failed here"
                )
            delivery_store.resolve_failed(
                conn, message_id, "queued" if decision == "retry" else "dropped", now
            )
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        actor,
                        AuditAction.PEER_CHANGED,
                        message_id,
                        "failed_retried" if decision == "retry" else "failed_dropped",
                        {"next_hop": f.next_hop, "destination": f.destination},
                    )
                    for f in failed
                ],
            )
        return [f.destination for f in failed]


FAILED_SHOWN = 100
_STATE_WORDS = {"down": "unreachable", "backoff": "failing"}


def _ca_expiry(ca_pem: str) -> str | None:
    """When a pinned CA certificate expires: past it, the peer's chain no longer verifies."""
    try:
        return pki.certificate_from_pem(ca_pem.encode()).not_valid_after_utc.isoformat()
    except CryptoError:
        return None


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value else None


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they were written in UTC.
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def read_peer_file(path: Path) -> PeerFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NodeError(str(path), f"cannot be read: {exc.strerror}") from None
    return parse_peer_file(data, str(path))


def _capabilities(pinned: Capabilities, row: peer_store.PeerRow | None) -> dict[str, Any]:
    """What the peer file states, what the peer last stated on the line (the store's, as
    every worker sees it), and what this node therefore sends it: the narrower of the two."""
    stated = None
    if row is not None and row.stated_protocol is not None and row.stated_kinds is not None:
        with contextlib.suppress(ValueError):
            stated = parse_capabilities(
                {"protocol": row.stated_protocol, "kinds": orjson.loads(row.stated_kinds)}
            )
    return {
        "peer_file_capabilities": pinned.to_json(),
        "stated_capabilities": (
            {**stated.to_json(), "at": _iso(row.stated_at) if row else None} if stated else None
        ),
        "capabilities": pinned.narrower(stated).to_json(),
    }
