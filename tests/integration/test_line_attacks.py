"""Attacks on the line, each against a real node over real TLS (issues #3 and #6).

Each test names the attack, checks the documented refusal (docs/protocol.md) and that the
receiver stored nothing of it. The client is hand-made with httpx, so it can do what a
well-behaved node never would.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from secureline.crypto import pki
from secureline.crypto.encoding import b64url_decode
from secureline.crypto.keys import SigningKey, generate_signing_key
from secureline.services.line.wire import sign_message_envelope
from secureline.store import tables
from tests.integration.support import (
    PAIR,
    Federation,
    count_rows,
    craft_envelope,
    error_code,
    evidence_items,
    identity_context,
    officer,
    put,
    sample,
    save_identity,
    stored_counts,
    transaction_body,
)

TXN = "t-attack-0001"


def _europol_ca(fed: Federation) -> bytes:
    return fed.layout("europol").ca_certificate.read_bytes()


def _as_interpol(fed: Federation) -> ssl.SSLContext:
    """The genuine interpol identity (its own TLS files), trusting europol's CA."""
    layout = fed.layout("interpol")
    return identity_context(_europol_ca(fed), layout.tls_certificate, layout.tls_key)


def _interpol_ca(fed: Federation) -> pki.Identity:
    layout = fed.layout("interpol")
    return pki.load_identity(layout.ca_certificate, layout.ca_key, None)


def _digest(fed: Federation) -> str | None:
    return fed["europol"].directory.agreement_digest("interpol")


def _send(
    fed: Federation, body: bytes, txn: str = TXN, context: ssl.SSLContext | None = None
) -> httpx.Response:
    return put(context or _as_interpol(fed), fed["europol"], txn, body, _digest(fed))


def _handshake_refused(fed: Federation, context: ssl.SSLContext, txn: str) -> None:
    _, token = craft_envelope(fed["interpol"], "ops@europol")
    with pytest.raises((httpx.TransportError, ssl.SSLError)):
        put(context, fed["europol"], txn, transaction_body([(token, ["interpol"])]), _digest(fed))


# --- the harness works: a well-formed transaction from the real peer is accepted ------------


def test_control_a_genuine_transaction_is_delivered(pair: Federation) -> None:
    europol = pair["europol"]
    before = stored_counts(europol)
    message_id, token = craft_envelope(pair["interpol"], "ops@europol")

    answer = _send(pair, transaction_body([(token, ["interpol"])]))

    items = evidence_items(answer, pair["interpol"])
    assert [(i.message_id, i.kind.value, i.reason_code) for i in items] == [
        (message_id, "delivered", None)
    ]
    after = stored_counts(europol)
    assert after["messages"] == before["messages"] + 1
    assert after["mailbox"] == before["mailbox"] + 1


# --- transport: who is at the other end ---------------------------------------------------


def test_client_without_certificate_is_refused_at_handshake(pair: Federation) -> None:
    before = stored_counts(pair["europol"])
    _handshake_refused(pair, identity_context(_europol_ca(pair)), "t-no-cert-01")
    assert stored_counts(pair["europol"]) == before


def test_certificate_from_another_ca_is_refused_at_handshake(
    pair: Federation, tmp_path: Path
) -> None:
    rogue_ca = pki.create_ca("Interpol")  # same organisation name, different key
    cert, key = save_identity(
        tmp_path / "rogue",
        "interpol",
        pki.issue_node_certificate(rogue_ca, "interpol", ["127.0.0.1"]),
    )
    before = stored_counts(pair["europol"])
    _handshake_refused(pair, identity_context(_europol_ca(pair), cert, key), "t-other-ca-01")
    assert stored_counts(pair["europol"]) == before


def _expired_context(pair: Federation, tmp_path: Path) -> ssl.SSLContext:
    now = datetime.now(UTC)
    expired = pki.issue_node_certificate(
        _interpol_ca(pair),
        "interpol",
        ["127.0.0.1"],
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    cert, key = save_identity(tmp_path / "expired", "interpol", expired)
    return identity_context(_europol_ca(pair), cert, key)


def test_expired_certificate_from_the_right_ca_is_refused(pair: Federation, tmp_path: Path) -> None:
    """Refused at the handshake or with 403 certificate_expired (issue #3 allows both)."""
    europol = pair["europol"]
    before = stored_counts(europol)
    _, token = craft_envelope(pair["interpol"], "ops@europol")
    body = transaction_body([(token, ["interpol"])])

    try:
        answer = put(_expired_context(pair, tmp_path), europol, "t-expired-01", body, _digest(pair))
    except (httpx.TransportError, ssl.SSLError):
        pass  # the TLS stack refused it (what happens today, see the test below)
    else:
        assert answer.status_code == 403, answer.text
        assert error_code(answer) == "certificate_expired"
    assert stored_counts(europol) == before


def test_certificate_from_the_right_ca_naming_another_node_is_refused(
    pair: Federation, tmp_path: Path
) -> None:
    mallory = pki.issue_node_certificate(_interpol_ca(pair), "mallory", ["127.0.0.1"])
    cert, key = save_identity(tmp_path / "mallory", "mallory", mallory)
    europol = pair["europol"]
    before = stored_counts(europol)
    _, token = craft_envelope(pair["interpol"], "ops@europol")

    answer = put(
        identity_context(_europol_ca(pair), cert, key),
        europol,
        "t-mallory-01",
        transaction_body([(token, ["interpol"])]),
        _digest(pair),
    )

    assert answer.status_code == 403
    assert error_code(answer) == "unknown_peer"
    assert stored_counts(europol) == before


# --- envelopes: what is signed, and by whom ---------------------------------------------


def _flip_payload_character(token: str) -> str:
    header, payload, signature = token.split(".")
    i = len(payload) // 2
    flipped = "B" if payload[i] != "B" else "C"
    return ".".join([header, payload[:i] + flipped + payload[i + 1 :], signature])


def _refusal(pair: Federation, token: str, path: list[str], txn: str) -> tuple[str, str | None]:
    europol = pair["europol"]
    before = stored_counts(europol)
    answer = _send(pair, transaction_body([(token, path)]), txn)
    items = evidence_items(answer, pair["interpol"])  # verified with europol's pinned key
    assert len(items) == 1
    assert stored_counts(europol) == before
    return items[0].kind.value, items[0].reason_code


def test_tampered_payload_is_refused_bad_signature(pair: Federation) -> None:
    _, token = craft_envelope(pair["interpol"], "ops@europol")
    assert _refusal(pair, _flip_payload_character(token), ["interpol"], "t-tamper-01") == (
        "refused",
        "bad_signature",
    )


def test_tampered_envelope_from_the_outbox_is_refused_bad_signature(
    federation_factory: Callable[..., Federation],
) -> None:
    """A real envelope, as interpol's sender would push it, altered on the way."""
    fed = federation_factory(PAIR, start=("interpol",))
    interpol = fed["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol"))
    with interpol.db.read() as conn:
        token = conn.execute(
            select(tables.envelopes.c.envelope).where(tables.envelopes.c.message_id == sent.id)
        ).scalar_one()
    fed.stop("interpol")  # no sender of its own: this test is europol's only client
    fed.start("europol")
    fed.construct("interpol")  # not started; holds the pins that verify europol's evidence

    kind, code = _refusal(fed, _flip_payload_character(token), ["interpol"], "t-tamper-02")

    assert (kind, code) == ("refused", "bad_signature")
    assert count_rows(fed["europol"], tables.messages, tables.messages.c.id == sent.id) == 0


@pytest.mark.parametrize("kid", ["fresh", "claimed"])
def test_wrong_signer_is_refused(pair: Federation, kid: str) -> None:
    """A key interpol never published: under its own kid (unknown), or claiming interpol's."""
    fresh = generate_signing_key("interpol")
    if kid == "claimed":
        fresh = SigningKey(kid=pair["interpol"].identity.signing.kid, private=fresh.private)
    _, token = craft_envelope(pair["interpol"], "ops@europol", signing=fresh)

    kind, code = _refusal(pair, token, ["interpol"], f"t-signer-{kid}")

    assert kind == "refused"
    assert code == ("unknown_key" if kid == "fresh" else "bad_signature")


def test_loop_an_envelope_whose_path_holds_the_receiver_is_refused(pair: Federation) -> None:
    _, token = craft_envelope(pair["interpol"], "ops@europol")
    assert _refusal(pair, token, ["interpol", "europol", "interpol"], "t-loop-0001") == (
        "refused",
        "loop",
    )


# --- transactions: replays, sizes, agreements -----------------------------------------------


def test_replayed_transaction_returns_the_stored_answer_and_stores_nothing(
    pair: Federation,
) -> None:
    europol = pair["europol"]
    _, token = craft_envelope(pair["interpol"], "ops@europol")
    body = transaction_body([(token, ["interpol"])])
    first = _send(pair, body, "t-replay-01")
    assert first.status_code == 200
    after_first = stored_counts(europol)
    transactions = count_rows(europol, tables.inbound_transactions)

    again = _send(pair, body, "t-replay-01")

    assert again.status_code == 200
    assert again.content == first.content
    assert stored_counts(europol) == after_first
    assert count_rows(europol, tables.inbound_transactions) == transactions


def test_replayed_transaction_id_with_another_body_is_a_conflict(pair: Federation) -> None:
    europol = pair["europol"]
    _, token = craft_envelope(pair["interpol"], "ops@europol", seed=1)
    assert _send(pair, transaction_body([(token, ["interpol"])]), "t-replay-02").status_code == 200
    before = stored_counts(europol)
    _, other = craft_envelope(pair["interpol"], "ops@europol", seed=2)

    answer = _send(pair, transaction_body([(other, ["interpol"])]), "t-replay-02")

    assert answer.status_code == 409
    assert error_code(answer) == "transaction_conflict"
    assert stored_counts(europol) == before


def test_replayed_envelope_in_a_new_transaction_is_not_delivered_twice(pair: Federation) -> None:
    europol = pair["europol"]
    message_id, token = craft_envelope(pair["interpol"], "ops@europol")
    assert _send(pair, transaction_body([(token, ["interpol"])]), "t-replay-03").status_code == 200
    before = stored_counts(europol)

    answer = _send(pair, transaction_body([(token, ["interpol"])]), "t-replay-04")

    items = evidence_items(answer, pair["interpol"])
    assert [(i.message_id, i.reason_code) for i in items] == [(message_id, "duplicate")]
    assert stored_counts(europol) == before


def test_oversized_batch_by_count_is_refused(pair: Federation) -> None:
    europol = pair["europol"]
    limit = europol.settings.max_batch_messages
    before = stored_counts(europol)
    body = orjson.dumps(
        {
            "v": 1,
            "envelopes": [{"token": f"x.y.z{i}", "path": ["interpol"]} for i in range(limit + 1)],
            "evidence": [],
        }
    )

    answer = _send(pair, body, "t-big-count")

    assert answer.status_code == 413
    assert error_code(answer) == "batch_too_large"
    assert stored_counts(europol) == before
    assert count_rows(europol, tables.inbound_transactions) == 0


def test_oversized_batch_by_bytes_is_refused(pair: Federation) -> None:
    europol = pair["europol"]
    _, token = craft_envelope(pair["interpol"], "ops@europol")
    padding = "x" * (europol.settings.max_batch_bytes + 1)
    body = orjson.dumps(
        {"v": 1, "envelopes": [{"token": token, "path": ["interpol"]}], "evidence": [padding]}
    )
    before = stored_counts(europol)

    answer = _send(pair, body, "t-big-bytes")

    assert answer.status_code == 413
    assert error_code(answer) == "batch_too_large"
    assert stored_counts(europol) == before
    assert count_rows(europol, tables.inbound_transactions) == 0


def test_agreement_mismatch_is_refused(pair: Federation) -> None:
    europol = pair["europol"]
    _, token = craft_envelope(pair["interpol"], "ops@europol")
    before = stored_counts(europol)

    answer = put(
        _as_interpol(pair),
        europol,
        "t-agreement-1",
        transaction_body([(token, ["interpol"])]),
        "0" * 64,
    )

    assert answer.status_code == 409
    assert error_code(answer) == "agreement_mismatch"
    assert stored_counts(europol) == before
    assert count_rows(europol, tables.inbound_transactions) == 0


# --- one reading: a signed payload that names a key twice -----------------------------------


def test_a_signed_payload_naming_a_key_twice_is_refused(pair: Federation) -> None:
    """Two parsers could read {"destination": "europol", "destination": "x"} differently; the
    signature covers the bytes, so both readings would carry it. Refused, whatever the key."""
    interpol = pair["interpol"]
    _, token = craft_envelope(interpol, "ops@europol", seed=61)
    payload = orjson.loads(b64url_decode(token.split(".")[1]))
    text = orjson.dumps(payload).decode()
    twice = text.replace(
        '"destination":"europol"', '"destination":"elsewhere","destination":"europol"'
    )
    assert twice != text
    forged = sign_message_envelope(twice.encode(), interpol.identity.signing)
    assert _refusal(pair, forged, ["interpol"], "t-twice-001") == ("refused", "duplicate_key")


def test_a_certificate_from_the_right_ca_naming_no_node_is_refused_no_node_name(
    pair: Federation, tmp_path: Path
) -> None:
    """The code the protocol documents (§1), not a generic malformed_certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = _interpol_ca(pair)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "interpol")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(  # a host name only: no urn:secureline:node: URI
            x509.SubjectAlternativeName([x509.DNSName("interpol.example")]), critical=False
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    cert, private = save_identity(tmp_path / "nameless", "nameless", pki.Identity(certificate, key))
    europol = pair["europol"]
    before = stored_counts(europol)
    _, token = craft_envelope(pair["interpol"], "ops@europol")

    answer = put(
        identity_context(_europol_ca(pair), cert, private),
        europol,
        "t-nameless-01",
        transaction_body([(token, ["interpol"])]),
        _digest(pair),
    )

    assert answer.status_code == 403
    assert error_code(answer) == "no_node_name"
    assert stored_counts(europol) == before
