"""The node's own identity as the services need it: its name and private keys."""

from __future__ import annotations

from dataclasses import dataclass

from secureline.crypto.keys import EncryptionKey, SigningKey


@dataclass(frozen=True)
class NodeIdentity:
    name: str
    signing: SigningKey
    encryption: EncryptionKey
