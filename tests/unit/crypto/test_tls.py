"""Real TLS 1.3 handshakes on loopback with the line's contexts: who gets in, who does not."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from secureline.crypto.errors import CertificateRejected, KeyFileError
from secureline.crypto.pki import (
    Identity,
    certificate_to_pem,
    check_peer_certificate,
    client_ssl_context,
    issue_node_certificate,
    save_identity,
    server_ssl_context,
)

from .conftest import IdentityFiles

TIMEOUT = 5.0


@dataclass
class _ServerSide:
    peer_der: bytes | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _handshake(
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    server_hostname: str = "127.0.0.1",
) -> bytes:
    """Run one handshake and a one-byte exchange; return the client cert the server saw.

    Raises the error of the side that refused: the one whose own certificate check failed
    (``SSLCertVerificationError``), else the server's, else the client's. The other side
    only sees an alert or a closed connection. In TLS 1.3 the client finishes its side
    before the server has checked the client certificate, so a refused client learns of it
    only at its first read.
    """
    server = _ServerSide()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]

        def serve() -> None:
            try:
                connection, _ = listener.accept()
                connection.settimeout(TIMEOUT)
                with server_context.wrap_socket(connection, server_side=True) as tls:
                    server.peer_der = tls.getpeercert(binary_form=True)
                    tls.sendall(b"!")
            except (ssl.SSLError, OSError) as exc:
                server.error = exc
            finally:
                server.done.set()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client_error: BaseException | None = None
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
                client_context.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                if tls.recv(1) != b"!":
                    raise ConnectionError("server closed the connection")
        except (ssl.SSLError, OSError) as exc:
            client_error = exc
        thread.join(TIMEOUT)
    errors = [error for error in (server.error, client_error) if error is not None]
    for error in errors:
        if isinstance(error, ssl.SSLCertVerificationError):
            raise error
    if errors:
        raise errors[0]
    assert server.peer_der is not None
    return server.peer_der


def _server(files: IdentityFiles, pins: list[bytes]) -> ssl.SSLContext:
    return server_ssl_context(files.cert, files.key, pins, None)


def _client(files: IdentityFiles, pins: list[bytes]) -> ssl.SSLContext:
    return client_ssl_context(files.cert, files.key, pins, None)


# --- negative ---------------------------------------------------------------------------


def test_client_certificate_from_other_ca_is_refused(
    server_files: IdentityFiles, rogue_client_files: IdentityFiles, ca_pem: bytes
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(_server(server_files, [ca_pem]), _client(rogue_client_files, [ca_pem]))


def test_client_without_certificate_is_refused(server_files: IdentityFiles, ca_pem: bytes) -> None:
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    anonymous.load_verify_locations(cadata=ca_pem.decode())
    with pytest.raises(ssl.SSLError, match="PEER_DID_NOT_RETURN_A_CERTIFICATE"):
        _handshake(_server(server_files, [ca_pem]), anonymous)


def test_server_certificate_from_other_ca_is_refused(
    rogue_server_files: IdentityFiles, client_files: IdentityFiles, ca_pem: bytes
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(_server(rogue_server_files, [ca_pem]), _client(client_files, [ca_pem]))


def test_server_with_no_pins_refuses_everyone(
    server_files: IdentityFiles, client_files: IdentityFiles, ca_pem: bytes
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(_server(server_files, []), _client(client_files, [ca_pem]))


def test_client_with_no_pins_refuses_every_server(
    server_files: IdentityFiles, client_files: IdentityFiles, ca_pem: bytes
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(_server(server_files, [ca_pem]), _client(client_files, []))


def test_server_certificate_for_other_host_is_refused(
    server_files: IdentityFiles, client_files: IdentityFiles, ca_pem: bytes
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(
            _server(server_files, [ca_pem]),
            _client(client_files, [ca_pem]),
            server_hostname="charlie.example",
        )


def test_tls12_client_is_refused(
    server_files: IdentityFiles, client_files: IdentityFiles, ca_pem: bytes
) -> None:
    legacy = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    legacy.maximum_version = ssl.TLSVersion.TLSv1_2
    legacy.load_verify_locations(cadata=ca_pem.decode())
    legacy.load_cert_chain(client_files.cert, client_files.key)
    with pytest.raises(ssl.SSLError, match=r"UNSUPPORTED_PROTOCOL|unsupported protocol"):
        _handshake(_server(server_files, [ca_pem]), legacy)


def test_encrypted_key_without_passphrase_fails_instead_of_prompting(
    tmp_path: Path, ca: Identity, ca_pem: bytes
) -> None:
    identity = issue_node_certificate(ca, "alpha", ["127.0.0.1"])
    save_identity(tmp_path / "n.crt", tmp_path / "n.key", identity, b"secret")
    with pytest.raises(KeyFileError, match="cannot load TLS identity"):
        server_ssl_context(tmp_path / "n.crt", tmp_path / "n.key", [ca_pem], None)
    with pytest.raises(KeyFileError, match="cannot load TLS identity"):
        client_ssl_context(tmp_path / "n.crt", tmp_path / "n.key", [ca_pem], b"wrong")


def test_garbage_pin_is_refused(server_files: IdentityFiles) -> None:
    with pytest.raises(CertificateRejected, match="cannot parse PEM"):
        _server(server_files, [b"not a certificate"])


def test_pinned_bundle_is_refused(
    server_files: IdentityFiles, ca_pem: bytes, other_ca: Identity
) -> None:
    """A bundle slipped into one pin would silently trust every CA in it."""
    bundle = ca_pem + certificate_to_pem(other_ca.certificate)
    with pytest.raises(CertificateRejected, match="must be one certificate, got 2"):
        _server(server_files, [bundle])


# --- positive ---------------------------------------------------------------------------


def test_contexts_are_tls13_only_and_require_certificates(
    server_files: IdentityFiles, client_files: IdentityFiles, ca_pem: bytes
) -> None:
    for context in (_server(server_files, [ca_pem]), _client(client_files, [ca_pem])):
        assert context.minimum_version == ssl.TLSVersion.TLSv1_3
        assert context.maximum_version == ssl.TLSVersion.TLSv1_3
        assert context.verify_mode == ssl.CERT_REQUIRED
    assert _client(client_files, [ca_pem]).check_hostname


def test_client_from_pinned_ca_is_accepted(
    server_files: IdentityFiles, client_files: IdentityFiles, ca: Identity, ca_pem: bytes
) -> None:
    peer_der = _handshake(_server(server_files, [ca_pem]), _client(client_files, [ca_pem]))
    assert check_peer_certificate(peer_der, ca.certificate, expected_node="bravo") == "bravo"


def test_encrypted_identity_is_accepted_with_its_passphrase(
    tmp_path: Path, ca: Identity, ca_pem: bytes, client_files: IdentityFiles
) -> None:
    identity = issue_node_certificate(ca, "alpha", ["127.0.0.1"])
    save_identity(tmp_path / "n.crt", tmp_path / "n.key", identity, b"secret")
    server = server_ssl_context(tmp_path / "n.crt", tmp_path / "n.key", [ca_pem], b"secret")
    _handshake(server, _client(client_files, [ca_pem]))
