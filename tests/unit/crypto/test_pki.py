"""Certificates: a peer is trusted only if the pinned CA issued it, now, for that node."""

from __future__ import annotations

import hashlib
import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from secureline.crypto.errors import CertificateRejected, KeyFileError
from secureline.crypto.keys import generate_signing_key, save_signing_key
from secureline.crypto.pki import (
    Identity,
    certificate_from_pem,
    certificate_to_pem,
    check_peer_certificate,
    create_ca,
    fingerprint,
    issue_node_certificate,
    load_identity,
    node_name,
    save_identity,
)


def _der(identity: Identity) -> bytes:
    return identity.certificate.public_bytes(serialization.Encoding.DER)


def _leaf_with_san(ca: Identity, san: list[x509.GeneralName]) -> x509.Certificate:
    """A certificate our CA signed but whose names we choose, to test node-name parsing."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "odd")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(ca.private_key, hashes.SHA256())


# --- negative: check_peer_certificate, one test per step -------------------------------------


def test_garbage_certificate_is_refused(ca: Identity) -> None:
    with pytest.raises(CertificateRejected, match="cannot parse") as caught:
        check_peer_certificate(b"\x30\x03garbage", ca.certificate)
    assert caught.value.code == "malformed_certificate"


def test_certificate_from_other_ca_is_refused(ca: Identity, other_ca: Identity) -> None:
    leaf = issue_node_certificate(other_ca, "bravo", ["bravo.example"])
    with pytest.raises(CertificateRejected, match="not issued by the pinned CA") as caught:
        check_peer_certificate(_der(leaf), ca.certificate)
    assert caught.value.code == "not_issued_by_pinned_ca"


def test_certificate_from_impostor_ca_with_same_name_is_refused(ca: Identity) -> None:
    """An attacker's CA can copy our CA's name; only the signature tells them apart."""
    impostor = create_ca("Alpha Police")
    assert impostor.certificate.subject == ca.certificate.subject
    leaf = issue_node_certificate(impostor, "bravo", ["bravo.example"])
    with pytest.raises(CertificateRejected, match="not issued by the pinned CA") as caught:
        check_peer_certificate(_der(leaf), ca.certificate)
    assert caught.value.code == "not_issued_by_pinned_ca"


def test_expired_certificate_is_refused(ca: Identity) -> None:
    now = datetime.now(UTC)
    leaf = issue_node_certificate(
        ca, "bravo", [], not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    with pytest.raises(CertificateRejected, match="certificate expired") as caught:
        check_peer_certificate(_der(leaf), ca.certificate)
    assert caught.value.code == "certificate_expired"


def test_not_yet_valid_certificate_is_refused(ca: Identity) -> None:
    now = datetime.now(UTC)
    leaf = issue_node_certificate(
        ca, "bravo", [], not_before=now + timedelta(days=1), not_after=now + timedelta(days=30)
    )
    with pytest.raises(CertificateRejected, match="valid only from") as caught:
        check_peer_certificate(_der(leaf), ca.certificate)
    assert caught.value.code == "certificate_not_yet_valid"


def test_certificate_under_expired_ca_is_refused(ca: Identity) -> None:
    leaf = issue_node_certificate(ca, "bravo", [], valid_days=36500)
    after_ca = datetime.now(UTC) + timedelta(days=3651)
    with pytest.raises(CertificateRejected, match="pinned CA expired") as caught:
        check_peer_certificate(_der(leaf), ca.certificate, now=after_ca)
    assert caught.value.code == "certificate_expired"


def test_certificate_without_node_name_is_refused(ca: Identity) -> None:
    leaf = _leaf_with_san(ca, [x509.DNSName("bravo.example")])
    der = leaf.public_bytes(serialization.Encoding.DER)
    with pytest.raises(CertificateRejected, match="urn:secureline:node:") as caught:
        check_peer_certificate(der, ca.certificate)
    assert caught.value.code == "no_node_name"


def test_certificate_without_san_is_refused(ca: Identity) -> None:
    with pytest.raises(CertificateRejected, match="no subjectAltName") as caught:
        node_name(_leaf_with_san(ca, []))
    assert caught.value.code == "no_node_name"


def test_node_name_in_dns_name_is_not_trusted(ca: Identity) -> None:
    """Only the URI carries the node; a DNS name spelling it must not count."""
    leaf = _leaf_with_san(ca, [x509.DNSName("urn:secureline:node:bravo")])
    with pytest.raises(CertificateRejected, match="no urn:secureline:node: URI"):
        node_name(leaf)


def test_empty_node_name_is_refused(ca: Identity) -> None:
    leaf = _leaf_with_san(ca, [x509.UniformResourceIdentifier("urn:secureline:node:")])
    with pytest.raises(CertificateRejected, match="no urn:secureline:node: URI"):
        node_name(leaf)


def test_certificate_naming_two_nodes_is_refused(ca: Identity) -> None:
    leaf = _leaf_with_san(
        ca,
        [
            x509.UniformResourceIdentifier("urn:secureline:node:bravo"),
            x509.UniformResourceIdentifier("urn:secureline:node:charlie"),
        ],
    )
    with pytest.raises(CertificateRejected, match="more than one node") as caught:
        node_name(leaf)
    assert caught.value.code == "malformed_certificate"


def test_certificate_naming_other_node_is_refused(ca: Identity) -> None:
    leaf = issue_node_certificate(ca, "charlie", ["charlie.example"])
    with pytest.raises(
        CertificateRejected, match="names node 'charlie', expected 'bravo'"
    ) as caught:
        check_peer_certificate(_der(leaf), ca.certificate, expected_node="bravo")
    assert caught.value.code == "wrong_node"


def test_ca_presented_as_peer_is_refused(ca: Identity) -> None:
    with pytest.raises(CertificateRejected) as caught:
        check_peer_certificate(_der(ca), ca.certificate)
    assert caught.value.code == "no_node_name"


def test_naive_now_is_a_programming_error(ca: Identity) -> None:
    leaf = issue_node_certificate(ca, "bravo", [])
    with pytest.raises(ValueError, match="timezone-aware"):
        check_peer_certificate(_der(leaf), ca.certificate, now=datetime(2030, 1, 1))  # noqa: DTZ001


def test_garbage_pem_is_refused() -> None:
    with pytest.raises(CertificateRejected, match="cannot parse PEM") as caught:
        certificate_from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert caught.value.code == "malformed_certificate"


# --- negative: identity files --------------------------------------------------------------


def test_identity_key_file_is_0600(tmp_path: Path, ca: Identity) -> None:
    save_identity(tmp_path / "n.crt", tmp_path / "n.key", ca, None)
    assert stat.S_IMODE((tmp_path / "n.key").stat().st_mode) == 0o600


@pytest.mark.parametrize("existing", ["n.crt", "n.key"])
def test_refuses_to_overwrite_identity(tmp_path: Path, ca: Identity, existing: str) -> None:
    (tmp_path / existing).write_bytes(b"keep me")
    with pytest.raises(KeyFileError, match="already exists"):
        save_identity(tmp_path / "n.crt", tmp_path / "n.key", ca, None)
    assert (tmp_path / existing).read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


def test_identity_wrong_passphrase_is_refused(tmp_path: Path, ca: Identity) -> None:
    save_identity(tmp_path / "n.crt", tmp_path / "n.key", ca, b"secret")
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_identity(tmp_path / "n.crt", tmp_path / "n.key", b"guess")


def test_mismatched_key_and_certificate_are_refused(
    tmp_path: Path, ca: Identity, other_ca: Identity
) -> None:
    save_identity(tmp_path / "a.crt", tmp_path / "a.key", ca, None)
    save_identity(tmp_path / "b.crt", tmp_path / "b.key", other_ca, None)
    with pytest.raises(KeyFileError, match="does not match"):
        load_identity(tmp_path / "a.crt", tmp_path / "b.key", None)


def test_non_p256_identity_key_is_refused(tmp_path: Path, ca: Identity) -> None:
    save_identity(tmp_path / "a.crt", tmp_path / "ignored.key", ca, None)
    save_signing_key(tmp_path / "ed.key", generate_signing_key("alpha"), None)
    with pytest.raises(KeyFileError, match="ECDSA P-256"):
        load_identity(tmp_path / "a.crt", tmp_path / "ed.key", None)


def test_missing_certificate_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        load_identity(tmp_path / "absent.crt", tmp_path / "absent.key", None)


# --- positive ---------------------------------------------------------------------------


def test_ca_is_a_one_level_root(ca: Identity) -> None:
    certificate = ca.certificate
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Alpha Police"
    )
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Alpha Police secureline CA"
    )
    certificate.verify_directly_issued_by(certificate)


def test_node_certificate_carries_names_and_usages(ca: Identity) -> None:
    leaf = issue_node_certificate(ca, "bravo", ["bravo.example", "10.0.0.7", "::1"]).certificate
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["bravo.example"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.7"),
        ipaddress.ip_address("::1"),
    ]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:secureline:node:bravo"]
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert node_name(leaf) == "bravo"


def test_valid_peer_is_accepted(ca: Identity) -> None:
    leaf = issue_node_certificate(ca, "bravo", ["bravo.example"])
    assert check_peer_certificate(_der(leaf), ca.certificate) == "bravo"
    assert check_peer_certificate(_der(leaf), ca.certificate, expected_node="bravo") == "bravo"


def test_fingerprint_is_sha256_of_der(ca: Identity) -> None:
    digest = hashlib.sha256(_der(ca)).digest()
    assert fingerprint(ca.certificate) == "SHA256:" + digest.hex(":").upper()


def test_pem_round_trip(ca: Identity) -> None:
    assert certificate_from_pem(certificate_to_pem(ca.certificate)) == ca.certificate


@pytest.mark.parametrize("passphrase", [None, b"secret"])
def test_identity_round_trip(tmp_path: Path, ca: Identity, passphrase: bytes | None) -> None:
    identity = issue_node_certificate(ca, "bravo", ["bravo.example"])
    save_identity(tmp_path / "n.crt", tmp_path / "n.key", identity, passphrase)
    loaded = load_identity(tmp_path / "n.crt", tmp_path / "n.key", passphrase)
    assert loaded.certificate == identity.certificate
    assert loaded.private_key.public_key() == identity.private_key.public_key()
