"""Throwaway keys and CAs, generated once per test session (generation is the slow part)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from secureline.crypto.keys import SigningKey, generate_signing_key
from secureline.crypto.pki import (
    Identity,
    certificate_to_pem,
    create_ca,
    issue_node_certificate,
    save_identity,
)


@dataclass(frozen=True)
class IdentityFiles:
    """A node identity saved to disk, as the TLS contexts need it."""

    cert: Path
    key: Path
    identity: Identity


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return generate_signing_key("alpha")


@pytest.fixture(scope="session")
def other_signing_key() -> SigningKey:
    return generate_signing_key("beta")


@pytest.fixture(scope="session")
def ca() -> Identity:
    return create_ca("Alpha Police")


@pytest.fixture(scope="session")
def other_ca() -> Identity:
    return create_ca("Mallory Org")


@pytest.fixture(scope="session")
def ca_pem(ca: Identity) -> bytes:
    return certificate_to_pem(ca.certificate)


def _save(directory: Path, name: str, identity: Identity) -> IdentityFiles:
    files = IdentityFiles(directory / f"{name}.crt", directory / f"{name}.key", identity)
    save_identity(files.cert, files.key, identity, None)
    return files


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="session")
def server_files(ca: Identity, tls_dir: Path) -> IdentityFiles:
    return _save(tls_dir, "server", issue_node_certificate(ca, "alpha", ["localhost", "127.0.0.1"]))


@pytest.fixture(scope="session")
def client_files(ca: Identity, tls_dir: Path) -> IdentityFiles:
    return _save(tls_dir, "client", issue_node_certificate(ca, "bravo", ["bravo.example"]))


@pytest.fixture(scope="session")
def rogue_client_files(other_ca: Identity, tls_dir: Path) -> IdentityFiles:
    return _save(tls_dir, "rogue", issue_node_certificate(other_ca, "bravo", ["bravo.example"]))


@pytest.fixture(scope="session")
def rogue_server_files(other_ca: Identity, tls_dir: Path) -> IdentityFiles:
    return _save(tls_dir, "rogue-server", issue_node_certificate(other_ca, "alpha", ["127.0.0.1"]))
