"""TLS identities for the line: each organisation's own CA and the node certificates it issues.

Trust is pinned, never discovered: a link names the one CA its peer's certificate must be
issued by, directly (the CA has ``path_length=0``, so there are no intermediates to reason
about). The node a certificate speaks for is carried in one place only, the SAN URI
``urn:secureline:node:<node>``; host names and IP addresses are for TLS routing and never
identify a node. TLS certificates use ECDSA P-256: every TLS stack supports it and it is
fast to sign and verify.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from secureline.crypto.encoding import sha256_fingerprint
from secureline.crypto.errors import CertificateRejected, KeyFileError
from secureline.crypto.keys import read_private_key, write_new_secret_file

__all__ = [
    "NODE_URI_PREFIX",
    "Identity",
    "create_ca",
    "issue_node_certificate",
    "node_name",
    "check_peer_certificate",
    "fingerprint",
    "certificate_to_pem",
    "certificate_from_pem",
    "save_identity",
    "load_identity",
    "server_ssl_context",
    "client_ssl_context",
]

NODE_URI_PREFIX = "urn:secureline:node:"

#: Backdating of not_before, so a peer whose clock runs a little slow accepts a fresh cert.
_CLOCK_SKEW = timedelta(minutes=5)
_CERT_FILE_MODE = 0o644


@dataclass(frozen=True)
class Identity:
    """A certificate with its private key: what a CA signs with or a node presents in TLS."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _serial() -> int:
    # 159 random bits: positive, below the 20-octet limit of RFC 5280, unguessable.
    return secrets.randbits(159) | 1


def create_ca(organisation: str, valid_days: int = 3650) -> Identity:
    """Create the organisation's own root; ``path_length=0`` keeps every chain one link long."""
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} secureline CA"),
        ]
    )
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return Identity(certificate=certificate, private_key=key)


def _general_names(node: str, hostnames: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    names.append(x509.UniformResourceIdentifier(NODE_URI_PREFIX + node))
    return names


def issue_node_certificate(
    ca: Identity,
    node: str,
    hostnames: Sequence[str],
    valid_days: int = 825,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Identity:
    """Issue a node's TLS certificate, usable both to serve and to connect (mutual TLS).

    ``not_before``/``not_after`` exist so tests can build expired and future certificates;
    they are keyword-only so a production call cannot pass them by accident.
    """
    if not node:
        raise ValueError("a node certificate needs a node name")
    key = _new_key()
    now = datetime.now(UTC)
    start = not_before if not_before is not None else now - _CLOCK_SKEW
    end = not_after if not_after is not None else now + timedelta(days=valid_days)
    issuer_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    subject = x509.Name(
        [
            *ca.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME),
            x509.NameAttribute(NameOID.COMMON_NAME, node),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(_general_names(node, hostnames)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski.value),
            critical=False,
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    return Identity(certificate=certificate, private_key=key)


def node_name(certificate: x509.Certificate) -> str:
    """The node a certificate speaks for: its single ``urn:secureline:node:`` SAN URI."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raise CertificateRejected("no_node_name", "certificate has no subjectAltName") from None
    except ValueError as exc:
        # cryptography parses extensions lazily; duplicates or garbage surface only here.
        raise CertificateRejected("malformed_certificate", f"bad extensions: {exc}") from None
    names = [
        uri[len(NODE_URI_PREFIX) :]
        for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier)
        if uri.startswith(NODE_URI_PREFIX)
    ]
    if len(names) > 1:
        # Two node names would let one certificate speak for two nodes: refuse, never choose.
        raise CertificateRejected("malformed_certificate", "certificate names more than one node")
    if not names or not names[0]:
        raise CertificateRejected("no_node_name", f"certificate has no {NODE_URI_PREFIX} URI")
    return names[0]


def check_peer_certificate(
    leaf_der: bytes,
    pinned_ca: x509.Certificate,
    expected_node: str | None = None,
    now: datetime | None = None,
) -> str:
    """Decide whether a peer's certificate is acceptable for a link, and return its node.

    TLS has already checked the chain against the pinned CA; this repeats the check on the
    exact certificate the application is about to trust and adds what TLS cannot know: which
    node the certificate names, and whether that is the node the link is for.
    """
    when = now if now is not None else datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("now must be timezone-aware")

    # 1. Parse.
    try:
        leaf = x509.load_der_x509_certificate(leaf_der)
    except ValueError as exc:
        raise CertificateRejected(
            "malformed_certificate", f"cannot parse certificate: {exc}"
        ) from None

    # 2. Issued directly by the pinned CA (name chaining and signature).
    try:
        leaf.verify_directly_issued_by(pinned_ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateRejected(
            "not_issued_by_pinned_ca",
            f"certificate for {leaf.subject.rfc4514_string()} is not issued by the pinned CA "
            f"{pinned_ca.subject.rfc4514_string()}",
        ) from None

    # 3. Inside its validity window (and the pinned CA inside its own).
    for certificate, what in ((leaf, "certificate"), (pinned_ca, "pinned CA")):
        if when < certificate.not_valid_before_utc:
            raise CertificateRejected(
                "certificate_not_yet_valid",
                f"{what} is valid only from {certificate.not_valid_before_utc.isoformat()}",
            )
        if when > certificate.not_valid_after_utc:
            raise CertificateRejected(
                "certificate_expired",
                f"{what} expired at {certificate.not_valid_after_utc.isoformat()}",
            )

    # 4. Names a node.
    name = node_name(leaf)

    # 5. Names the node this link is for.
    if expected_node is not None and name != expected_node:
        raise CertificateRejected(
            "wrong_node", f"certificate names node {name!r}, expected {expected_node!r}"
        )
    return name


def fingerprint(certificate: x509.Certificate) -> str:
    """Human-comparable form, to confirm a pinned CA out of band before trusting it."""
    return sha256_fingerprint(certificate.public_bytes(serialization.Encoding.DER))


def certificate_to_pem(certificate: x509.Certificate) -> bytes:
    """PEM, the form CAs are exchanged and pinned in."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def certificate_from_pem(data: bytes) -> x509.Certificate:
    """Parse a PEM certificate, refusing garbage with the protocol's own code."""
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise CertificateRejected("malformed_certificate", f"cannot parse PEM: {exc}") from None


def save_identity(
    cert_path: Path, key_path: Path, identity: Identity, passphrase: bytes | None
) -> None:
    """Write key (0600) then certificate, never overwriting either, leaving no half pair."""
    if not passphrase and passphrase is not None:
        raise KeyFileError("an empty passphrase is not allowed; pass None for no passphrase")
    for path in (cert_path, key_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; refusing to overwrite an identity")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase is not None
        else serialization.NoEncryption()
    )
    key_pem = identity.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    write_new_secret_file(key_path, key_pem)
    try:
        _write_new_public_file(cert_path, certificate_to_pem(identity.certificate))
    except KeyFileError:
        with contextlib.suppress(OSError):
            key_path.unlink()
        raise


def _write_new_public_file(path: Path, data: bytes) -> None:
    try:
        with path.open("xb") as handle:
            handle.write(data)
        path.chmod(_CERT_FILE_MODE)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise KeyFileError(f"cannot write {path}: {exc.strerror}") from None


def load_identity(cert_path: Path, key_path: Path, passphrase: bytes | None) -> Identity:
    """Load a pair and prove they belong together, so a mismatch fails at start-up, not in TLS."""
    try:
        cert_pem = cert_path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {cert_path}: {exc.strerror}") from None
    certificate = certificate_from_pem(cert_pem)
    private_key = read_private_key(key_path, passphrase)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise KeyFileError(f"{key_path} does not hold an ECDSA P-256 private key")
    if private_key.public_key() != certificate.public_key():
        raise KeyFileError(f"{key_path} does not match the certificate in {cert_path}")
    return Identity(certificate=certificate, private_key=private_key)


def _tls13_context(
    *,
    server: bool,
    cert_path: Path,
    key_path: Path,
    trusted_ca_pems: Sequence[bytes],
    passphrase: bytes | None,
) -> ssl.SSLContext:
    # A bare SSLContext loads no system CAs: the only roots are the ones passed in, so an
    # empty list trusts nobody and every handshake fails (fail closed).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        # A callable, not None: with None, OpenSSL would prompt on the terminal for the
        # passphrase of an encrypted key; an empty answer makes it fail instead.
        context.load_cert_chain(
            certfile=cert_path,
            keyfile=key_path,
            password=passphrase if passphrase is not None else _no_passphrase,
        )
    except (ssl.SSLError, OSError) as exc:
        raise KeyFileError(f"cannot load TLS identity {cert_path} / {key_path}: {exc}") from None
    for pem in trusted_ca_pems:
        _one_pinned_ca(pem)
        try:
            # cadata as str means PEM; as bytes it would be read as DER.
            context.load_verify_locations(cadata=pem.decode("ascii"))
        except (ssl.SSLError, ValueError) as exc:
            raise CertificateRejected("malformed_certificate", f"cannot pin CA: {exc}") from None
    return context


def _one_pinned_ca(pem: bytes) -> None:
    """Refuse garbage with our own error, and bundles: one pin must mean exactly one CA."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CertificateRejected("malformed_certificate", f"cannot parse PEM: {exc}") from None
    if len(certificates) != 1:
        raise CertificateRejected(
            "malformed_certificate",
            f"a pinned CA must be one certificate, got {len(certificates)}",
        )


def _no_passphrase() -> bytes:
    return b""


def server_ssl_context(
    cert_path: Path, key_path: Path, trusted_ca_pems: Sequence[bytes], passphrase: bytes | None
) -> ssl.SSLContext:
    """The line's listening side: TLS 1.3 only, and no peer without a certificate from a pin."""
    return _tls13_context(
        server=True,
        cert_path=cert_path,
        key_path=key_path,
        trusted_ca_pems=trusted_ca_pems,
        passphrase=passphrase,
    )


def https_server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """The API port's HTTPS (the REST API and the desk): the organisation's own certificate,
    TLS 1.2 or newer (browsers and national systems, not only peers), no client certificate
    (users sign in; systems present a token)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    try:
        context.load_cert_chain(certfile=cert_path, keyfile=key_path, password=_no_passphrase)
    except (ssl.SSLError, OSError) as exc:
        raise KeyFileError(f"cannot load HTTPS identity {cert_path} / {key_path}: {exc}") from None
    return context


def client_ssl_context(
    cert_path: Path, key_path: Path, trusted_ca_pems: Sequence[bytes], passphrase: bytes | None
) -> ssl.SSLContext:
    """The line's connecting side: TLS 1.3 only, checks the host name, presents our cert."""
    context = _tls13_context(
        server=False,
        cert_path=cert_path,
        key_path=key_path,
        trusted_ca_pems=trusted_ca_pems,
        passphrase=passphrase,
    )
    context.check_hostname = True
    return context
