"""Where things live inside a node directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NodeLayout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "node.toml"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def ca_certificate(self) -> Path:
        return self.keys / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.keys / "ca.key"

    @property
    def tls_certificate(self) -> Path:
        return self.keys / "tls.pem"

    @property
    def tls_key(self) -> Path:
        return self.keys / "tls.key"

    @property
    def signing_key(self) -> Path:
        return self.keys / "signing.key"

    @property
    def encryption_key(self) -> Path:
        return self.keys / "encryption.key"

    @property
    def agreements(self) -> Path:
        return self.root / "agreements"

    def agreement(self, peer: str) -> Path:
        return self.agreements / f"{peer}.toml"

    @property
    def capabilities(self) -> Path:
        """What each pinned peer stated it supports (services/line/capabilities.py)."""
        return self.root / "peers"

    def peer_capabilities(self, peer: str) -> Path:
        return self.capabilities / f"{peer}.json"

    @property
    def peer_file(self) -> Path:
        return self.root / "peer.json"
