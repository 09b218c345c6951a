"""The API port in production (issue 15: the desk over HTTPS, by the node's own TLS or a
reverse proxy): HTTPS with the organisation's certificate, and client addresses believed only
from the configured proxies."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from secureline.node.compose import Node
from secureline.node.errors import NodeError
from secureline.store.accounts import auth_failures
from tests.integration.support import PAIR, Federation, set_option
from tests.support.desk import csrf_of


def _organisation_certificate(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (as the organisation's PKI would issue), its
    key beside it in the node directory; returns the certificate's path."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "desk.interpol.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "desk-cert.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "desk-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path


def _https(fed: Federation) -> Path:
    directory = fed.dirs["interpol"]
    cert = _organisation_certificate(directory)
    set_option(directory, "api", "tls_certificate", '"desk-cert.pem"')
    set_option(directory, "api", "tls_private_key", '"desk-key.pem"')
    return cert


def test_the_api_port_speaks_https_with_the_organisations_certificate(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    cert = _https(fed)
    node = fed.start("interpol")
    assert node.api_url == f"https://127.0.0.1:{node.api_port}"

    trusting = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=node.api_url, verify=trusting, timeout=10) as browser:
        page = browser.get("/desk/sign-in")
        assert page.status_code == 200
        assert "max-age=" in page.headers["strict-transport-security"]
        assert "Secure" in page.headers["set-cookie"]  # the double-submit cookie
        assert browser.get("/api/v1/inbox").status_code == 401  # the API too, on one port

    # Plain HTTP to the HTTPS port gets no page, and a client that does not trust the
    # organisation's certificate gets no connection.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{node.api_port}/desk/sign-in", timeout=5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{node.api_url}/desk/sign-in", timeout=5)


def test_an_https_certificate_that_cannot_be_loaded_stops_the_node_naming_the_key(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    _https(fed)
    (fed.dirs["interpol"] / "desk-key.pem").write_text("not a key\n", encoding="utf-8")
    with pytest.raises(NodeError) as refused:
        fed.start("interpol")
    assert "api.tls_certificate" in str(refused.value)
    assert "desk-key.pem" in str(refused.value)


def _fail_sign_in(node: Node, forwarded_for: str) -> set[str]:
    """One wrong password through the desk with an X-Forwarded-For header; returns the
    sources the failure was counted under."""
    with httpx.Client(base_url=node.api_url, timeout=10) as browser:
        page = browser.get("/desk/sign-in")
        answer = browser.post(
            "/desk/sign-in",
            data={"csrf": csrf_of(page), "username": "nobody", "password": "wrong"},
            headers={"X-Forwarded-For": forwarded_for},
        )
        assert answer.status_code in (200, 401), answer.text
    with node.db.engine.connect() as conn:
        return set(conn.execute(select(auth_failures.c.source)).scalars())


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=("europol",))
    set_option(fed.dirs["europol"], "api", "trusted_proxies", '["127.0.0.1"]')
    fed.restart("europol")
    fed.start("interpol")  # no proxy configured

    # Without a trusted proxy, a client cannot name its own address to dodge the count.
    assert "desk:127.0.0.1" in _fail_sign_in(fed["interpol"], "203.0.113.7")
    assert "desk:203.0.113.7" not in _fail_sign_in(fed["interpol"], "203.0.113.7")
    # Behind the proxy, each browser is counted under its own address.
    assert "desk:203.0.113.7" in _fail_sign_in(fed["europol"], "203.0.113.7")
    assert "desk:127.0.0.1" not in _fail_sign_in(fed["europol"], "203.0.113.8")
