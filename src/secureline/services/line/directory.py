"""What a node knows of the others: pinned peers, their keys and capabilities, link
agreements and routes.

Read from the store and the agreement files at start and after every change an
administrator makes, so the hot path only looks things up in memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import orjson

from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import EncryptionPublicKey, VerifyKey
from secureline.domain.agreement import Agreement, parse_agreement
from secureline.domain.errors import DomainError
from secureline.domain.policy import LinkTerms
from secureline.domain.vocabulary import Kind
from secureline.services.line.capabilities import (
    PROTOCOL_1,
    Capabilities,
    open_statement,
    parse_capabilities,
    read_capabilities,
)
from secureline.store import peers as peer_store
from secureline.store.database import Database

_VERSION_1 = PROTOCOL_1.kinds
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peer:
    name: str
    organisation: str
    direct: bool
    line_url: str | None
    ca_pem: str | None
    ca_fingerprint: str | None
    signing: VerifyKey
    encryption: EncryptionPublicKey
    reported_agreement_digest: str | None
    capabilities: Capabilities = PROTOCOL_1  # what its peer file stated it supports
    stated: Capabilities | None = None  # what it last stated on the line (None: nothing yet)
    stated_at: datetime | None = None

    @property
    def supports(self) -> Capabilities:
        """What this node sends it: the narrower of its peer file and its line statement."""
        return self.capabilities.narrower(self.stated)


@dataclass(frozen=True)
class AgreementState:
    agreement: Agreement | None
    problem: str | None  # why there is none: missing file, or what is wrong in it


class Directory:
    def __init__(
        self,
        node: str,
        db: Database,
        own_signing: VerifyKey,
        agreements_dir: Path,
        routes: Mapping[str, str],
        capabilities_dir: Path,
    ) -> None:
        self.node = node
        self._db = db
        self._own = own_signing
        self._agreements_dir = agreements_dir
        self._capabilities_dir = capabilities_dir
        self._routes = dict(routes)
        self._lock = threading.Lock()
        self._peers: dict[str, Peer] = {}
        self._keys: dict[str, VerifyKey] = {}
        self._agreements: dict[str, AgreementState] = {}
        self._terms: dict[str, LinkTerms] = {}
        self._kinds: dict[str, frozenset[str]] = {}
        # The statement each peer was last heard making: one that comes again is not
        # verified again. A memo of what was verified, not state: the peers row is the truth.
        self._heard: dict[str, str] = {}
        self.reload()

    def reload(self) -> None:
        loaded: dict[str, Peer] = {}
        for row in peer_store.list_peers(self._db):
            try:
                signing = VerifyKey.from_text(row.signing_kid, row.signing_key)
                encryption = EncryptionPublicKey.from_text(row.encryption_kid, row.encryption_key)
            except CryptoError:
                continue  # a damaged pin is as good as none: refuse that peer
            loaded[row.name] = Peer(
                row.name,
                row.organisation,
                row.direct,
                row.line_url,
                row.ca_pem,
                row.ca_fingerprint,
                signing,
                encryption,
                row.agreement_digest,
                read_capabilities(self._capabilities_dir / f"{row.name}.json"),
                _stated(row),
                row.stated_at,
            )
        keys = {p.signing.kid: p.signing for p in loaded.values()}
        keys[self._own.kid] = self._own
        agreements = {name: self._load_agreement(name) for name, p in loaded.items() if p.direct}
        # Asked for at every crossing: made here, once per change, not per message.
        terms = {name: LinkTerms(name, state.agreement) for name, state in agreements.items()}
        kinds = {name: p.supports.kinds for name, p in loaded.items()}
        with self._lock:
            self._peers, self._keys, self._agreements = loaded, keys, agreements
            self._terms, self._kinds = terms, kinds
            self._heard = {}

    def hear(self, peer: str, token: object, now: datetime) -> None:
        """Take in what ``peer`` stated on the line (a transaction's or an answer's
        ``capabilities``): verified against its pinned key, recorded in its row when new,
        and used from now on. Nothing stated (an older node) leaves its peer file alone in
        force; a statement that does not verify is logged and set aside, never trusted."""
        if token is None or self._heard.get(peer) == token:
            return
        pinned = self._peers.get(peer)
        if pinned is None:
            return
        try:
            stated = open_statement(token, peer, pinned.signing)
        except ValueError as exc:
            log.warning("line: %s's statement of what it supports is set aside: %s", peer, exc)
            return
        if stated != pinned.stated:
            kinds = orjson.dumps(sorted(stated.kinds)).decode()
            peer_store.record_statement(self._db, peer, stated.protocol, kinds, now)
            if stated != pinned.capabilities:
                log.info("line: %s states %s; its peer file %s", peer, stated, pinned.capabilities)
        with self._lock:
            current = self._peers.get(peer)
            if current is not None:
                heard = replace(current, stated=stated, stated_at=now)
                self._peers = {**self._peers, peer: heard}
                self._kinds = {**self._kinds, peer: heard.supports.kinds}
            self._heard[peer] = str(token)

    def _load_agreement(self, peer: str) -> AgreementState:
        path = self._agreements_dir / f"{peer}.toml"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return AgreementState(None, f"no agreement file {path}")
        except OSError as exc:
            return AgreementState(None, f"{path}: {exc.strerror}")
        except UnicodeDecodeError as exc:
            # One bad file leaves that link without an agreement (it refuses), never the
            # reload of the others.
            return AgreementState(None, f"{path}: not UTF-8 text (byte {exc.start})")
        try:
            agreement = parse_agreement(text)
        except DomainError as exc:
            return AgreementState(None, f"{path}: {exc}")
        if not agreement.covers(self.node, peer):
            return AgreementState(None, f"{path}: its parties are not {self.node} and {peer}")
        return AgreementState(agreement, None)

    @property
    def verify_keys(self) -> dict[str, VerifyKey]:
        return self._keys

    def peer(self, name: str) -> Peer | None:
        return self._peers.get(name)

    def capabilities(self, node: str) -> Capabilities:
        """What ``node`` is sent: the narrower of its peer file and its latest statement on
        the line; protocol 1 for a node not pinned here (a destination reached only through
        a route), as for a peer file that states nothing."""
        peer = self._peers.get(node)
        return peer.supports if peer is not None else PROTOCOL_1

    def lacking(self, kind: Kind, hop: str, destination: str) -> list[str]:
        """Why the next hop, or the destination, is not sent ``kind``: each that did not
        state it supports it. Asked for every message sent or relayed, so the common answer
        (both do) costs two look-ups."""
        kinds = self._kinds
        if kind in kinds.get(hop, _VERSION_1) and kind in kinds.get(destination, _VERSION_1):
            return []
        return [
            capabilities.lacks(node, kind.value)
            for node in dict.fromkeys((hop, destination))
            if not (capabilities := self.capabilities(node)).supports(kind)
        ]

    def peers(self) -> list[Peer]:
        return sorted(self._peers.values(), key=lambda p: p.name)

    def direct_peers(self) -> list[Peer]:
        return [p for p in self.peers() if p.direct]

    def agreement(self, peer: str) -> AgreementState:
        state = self._agreements.get(peer)
        return state if state is not None else AgreementState(None, f"no link to {peer}")

    def agreement_digest(self, peer: str) -> str | None:
        state = self.agreement(peer)
        return state.agreement.digest() if state.agreement else None

    def link_terms(self, peer: str) -> LinkTerms:
        terms = self._terms.get(peer)
        return terms if terms is not None else LinkTerms(peer, None)

    def next_hop(self, destination: str) -> str | None:
        """The direct link a message for ``destination`` leaves on, or None when unreachable."""
        direct = self._peers.get(destination)
        if direct is not None and direct.direct:
            return destination
        hop = self._routes.get(destination)
        if hop is not None and (p := self._peers.get(hop)) is not None and p.direct:
            return hop
        return None

    def routes(self) -> dict[str, str | None]:
        names = set(self._routes) | {p.name for p in self._peers.values()}
        return {name: self.next_hop(name) for name in sorted(names)}


def _stated(row: peer_store.PeerRow) -> Capabilities | None:
    """The statement a peers row keeps; None for none (or one this code cannot read)."""
    if row.stated_protocol is None or row.stated_kinds is None:
        return None
    try:
        return parse_capabilities(
            {"protocol": row.stated_protocol, "kinds": orjson.loads(row.stated_kinds)}
        )
    except (orjson.JSONDecodeError, ValueError):
        return None
