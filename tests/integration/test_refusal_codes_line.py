"""Every documented refusal code on the line, reached through the line between real nodes
(issue #13, section 1 item 4: "Every refusal code in docs must have such a test").

The client is hand-made (as in test_line_attacks.py): envelopes are composed and signed with
interpol's real key and pushed over real mutual TLS to europol, so that europol's own checks
(docs/protocol.md §2 and §5) are what refuses, not interpol's submission. Where a rule of
sharing is reached, the agreement is changed on both sides before the nodes start, as
test_declared_rules.py does, so the digests agree and the envelope gets as far as ``decide()``.
Each test asserts the exact code and that the receiver stored nothing of what it refused.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from starlette.testclient import TestClient

from secureline.crypto import pki
from secureline.crypto.envelope import sign_envelope
from secureline.crypto.jwe import encrypt_for
from secureline.crypto.keys import (
    EncryptionPublicKey,
    SigningKey,
    generate_encryption_key,
    generate_signing_key,
)
from secureline.domain.addresses import Address
from secureline.domain.audit import AuditAction, checkpoint_payload
from secureline.domain.message import compose, parse_draft
from secureline.interfaces.line.server import line_app
from secureline.node.compose import Node
from secureline.node.config import load_config
from secureline.services.audit import CHECKPOINT_TYP
from secureline.services.line.wire import envelope_payload, sign_evidence, sign_message_envelope
from secureline.services.submission import new_message_id
from secureline.store import tables
from tests.integration.support import (
    PAIR,
    UNITS,
    Federation,
    count_rows,
    error_code,
    evidence_items,
    identity_context,
    officer,
    put,
    sample,
    save_identity,
    seed_with_a_person,
    set_agreement_terms,
    set_option,
    stored_counts,
    transaction_body,
    wait_for,
)

# --- helpers ----------------------------------------------------------------------------------


def _as_interpol(fed: Federation) -> ssl.SSLContext:
    """interpol's genuine TLS identity, trusting europol's CA."""
    layout = fed.layout("interpol")
    europol_ca = fed.layout("europol").ca_certificate.read_bytes()
    return identity_context(europol_ca, layout.tls_certificate, layout.tls_key)


def _digest(fed: Federation) -> str | None:
    return fed["europol"].directory.agreement_digest("interpol")


def _push(fed: Federation, txn: str, body: bytes) -> httpx.Response:
    return put(_as_interpol(fed), fed["europol"], txn, body, _digest(fed))


def _envelope(
    origin: Node,
    to: str,
    *,
    now: datetime | None = None,
    destination: str | None = None,
    seed: int = 7,
    review_days: int = 365,
    **overrides: Any,
) -> tuple[str, str]:
    """A message composed and signed as ``origin`` would, with the draft's ``overrides`` and
    a chosen creation time; returns (message id, JWS). Nothing of origin's submission rules
    is applied: the receiver's checks are the ones under test."""
    created = now or datetime.now(UTC)
    message = compose(
        parse_draft(sample(to, seed=seed, **overrides)),
        message_id=new_message_id(),
        sender=Address(UNITS[origin.name], origin.name),
        now=created,
        default_review_date=(created + timedelta(days=review_days)).date(),
    )
    payload = envelope_payload(message, destination or to.split("@")[1], None)
    return message.header.id, sign_message_envelope(payload, origin.identity.signing)


def _refused(fed: Federation, token: str, txn: str) -> tuple[str, str | None]:
    """Push one envelope from interpol; the (kind, reason_code) of europol's signed evidence,
    after checking europol stored nothing of it."""
    europol = fed["europol"]
    before = stored_counts(europol)
    answer = _push(fed, txn, transaction_body([(token, ["interpol"])]))
    items = evidence_items(answer, fed["interpol"])  # verified with europol's pinned key
    assert len(items) == 1, items
    assert stored_counts(europol) == before
    return items[0].kind.value, items[0].reason_code


def _transaction_refused(fed: Federation, answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert error_code(answer) == code
    assert count_rows(fed["europol"], tables.inbound_transactions) == 0


def _with_agreement(factory: Callable[..., Federation], **terms: str) -> Federation:
    """A pair whose interpol-europol agreement (the same text on both sides) has ``terms``
    (TOML literals) in place of the generated ones; both nodes started afterwards."""
    fed = factory(PAIR, start=())
    set_agreement_terms(fed, "interpol", "europol", **terms)
    fed.start("interpol")
    fed.start("europol")
    assert fed["interpol"].directory.agreement_digest("europol") == _digest(fed)
    return fed


# --- the transaction as a whole (§2) --------------------------------------------------------


def test_bad_transaction_id(pair: Federation) -> None:
    _, token = _envelope(pair["interpol"], "ops@europol")
    before = stored_counts(pair["europol"])
    answer = _push(pair, "short", transaction_body([(token, ["interpol"])]))  # < 8 characters
    _transaction_refused(pair, answer, 400, "bad_transaction_id")
    assert stored_counts(pair["europol"]) == before


@pytest.mark.parametrize(
    "body",
    [
        b"this is not json",
        b'{"v": 2, "envelopes": [], "evidence": []}',
        b'{"v": 1, "envelopes": {}, "evidence": []}',
        b'{"v": 1, "envelopes": [{"path": ["interpol"]}], "evidence": []}',
        b'{"v": 1, "envelopes": [], "evidence": [1]}',
    ],
    ids=["not-json", "wrong-version", "envelopes-not-list", "no-token", "evidence-not-strings"],
)
def test_malformed_transaction(pair: Federation, body: bytes) -> None:
    before = stored_counts(pair["europol"])
    _transaction_refused(pair, _push(pair, "t-malformed-1", body), 400, "malformed_transaction")
    assert stored_counts(pair["europol"]) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/line/v1/transactions/t-endpoint-1"), ("POST", "/line/v1/other"), ("GET", "/")],
)
def test_unknown_endpoint(pair: Federation, method: str, path: str) -> None:
    europol = pair["europol"]
    with httpx.Client(verify=_as_interpol(pair), timeout=10.0) as client:
        answer = client.request(method, f"https://127.0.0.1:{europol.line_port}{path}")
    assert answer.status_code == 404
    assert error_code(answer) == "unknown_endpoint"


def test_no_client_certificate_at_the_application(pair: Federation) -> None:
    """Over real TLS a client without a certificate never reaches the application: the
    handshake refuses it (test_line_attacks.py). ``no_client_certificate`` is the second line,
    for a request that arrives without one (a TLS layer that let it through): reached here
    through europol's own line application and inbox, without TLS."""
    europol = pair["europol"]
    before = stored_counts(europol)
    _, token = _envelope(pair["interpol"], "ops@europol")
    app = line_app(europol.directory, europol.inbox, lambda: europol.settings.max_batch_bytes)
    with TestClient(app) as client:
        answer = client.put(
            "/line/v1/transactions/t-no-cert-app",
            content=transaction_body([(token, ["interpol"])]),
            headers={"content-type": "application/json", "secureline-agreement": "x"},
        )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "no_client_certificate"
    assert stored_counts(europol) == before
    assert count_rows(europol, tables.inbound_transactions) == 0


# --- one envelope (§5): each refusal is signed evidence, and nothing is stored --------------


def test_clock_skew(pair: Federation) -> None:
    ahead = datetime.now(UTC) + timedelta(seconds=pair["europol"].settings.clock_skew_seconds)
    _, token = _envelope(pair["interpol"], "ops@europol", now=ahead + timedelta(minutes=5))
    assert _refused(pair, token, "t-skew-0001") == ("refused", "clock_skew")


def test_too_old(pair: Federation) -> None:
    days = pair["europol"].settings.max_envelope_age_days
    _, token = _envelope(
        pair["interpol"], "ops@europol", now=datetime.now(UTC) - timedelta(days=days + 1)
    )
    assert _refused(pair, token, "t-too-old-01") == ("refused", "too_old")


def test_bad_destination(pair: Federation) -> None:
    # Signed for a node that is not among the recipients: a relay could otherwise be made to
    # carry a message for ops@europol anywhere.
    _, token = _envelope(pair["interpol"], "ops@europol", destination="ncb-madrid")
    assert _refused(pair, token, "t-bad-dest-1") == ("refused", "bad_destination")


def test_unknown_unit(pair: Federation) -> None:
    _, token = _envelope(pair["interpol"], "nosuchunit@europol")
    assert _refused(pair, token, "t-unit-0001") == ("refused", "unknown_unit")


def test_no_route(pair: Federation) -> None:
    """europol is asked to relay to a node it has no link or route to."""
    _, token = _envelope(pair["interpol"], "ncb@ncb-madrid")
    assert _refused(pair, token, "t-no-route-1") == ("refused", "no_route")


def test_not_specialist_unit(pair: Federation) -> None:
    """Child sexual exploitation (in the pair's agreement) to a unit not marked specialist."""
    interpol = pair["interpol"]
    _, token = _envelope(interpol, "ops@europol", crime_area="child-sexual-exploitation")
    assert _refused(pair, token, "t-special-01") == ("refused", "not_specialist_unit")


# --- the rules of sharing at RECEIVE, with the agreement narrowed on both sides -------------


@pytest.mark.parametrize(
    ("code", "terms", "overrides"),
    [
        ("kind_not_allowed", {"kinds": '["request"]'}, {}),
        ("purpose_not_allowed", {"purposes": '["counter terrorism only"]'}, {}),
        ("personal_data_not_allowed", {"personal_data": "false", "data_subjects": "[]"}, {}),
        ("retention_exceeds_agreement", {"retention_max_days": "30"}, {}),
    ],
)
def test_rules_of_sharing_at_receive(
    federation_factory: Callable[..., Federation],
    code: str,
    terms: dict[str, str],
    overrides: dict[str, Any],
) -> None:
    fed = _with_agreement(federation_factory, **terms)
    # A seed with a Person: personal data (and, by default, a review date a year out).
    _, token = _envelope(fed["interpol"], "ops@europol", seed=seed_with_a_person(), **overrides)
    assert _refused(fed, token, f"t-rule-{code[:20]}") == ("refused", code)


# --- evidence: a partner checkpoint that does not verify ------------------------------------


def test_checkpoint_bad_signature(pair: Federation) -> None:
    """Evidence signed with interpol's real key carries a checkpoint under interpol's kid but
    signed with another key: europol keeps the evidence, not the checkpoint, and records
    the refusal with its code (docs/protocol.md §6, cross-anchoring)."""
    interpol, europol = pair["interpol"], pair["europol"]
    now = datetime.now(UTC)
    impostor = SigningKey(
        kid=interpol.identity.signing.kid, private=generate_signing_key("interpol").private
    )
    forged = sign_envelope(
        checkpoint_payload("interpol", 3, "a" * 64, now), impostor, typ=CHECKPOINT_TYP
    )
    document = sign_evidence(
        "ev-forged-cp-1", "interpol", now, [], forged, interpol.identity.signing
    )
    before = len(list(europol.audit.records()))
    answer = _push(pair, "t-checkpoint-1", transaction_body([], [document]))
    assert answer.status_code == 200, answer.text

    new = list(europol.audit.records())[before:]
    refused = [r for r in new if r.action == AuditAction.PARTNER_CHECKPOINT]
    assert [(r.outcome, r.detail["reason"]) for r in refused] == [
        ("refused", "checkpoint_bad_signature")
    ]
    assert all(c.head_hash != "a" * 64 for c in europol.audit.partner_checkpoints("interpol"))
    with europol.db.read() as conn:
        kept = conn.execute(
            select(tables.evidence_tokens.c.id).where(
                tables.evidence_tokens.c.id == "ev-forged-cp-1"
            )
        ).all()
    assert len(kept) == 1  # the evidence itself, whose own signature verified, is taken in


# --- the sender's side: a peer that breaks every exchange ------------------------------------


@pytest.fixture
def breaking_listener() -> Iterator[Callable[[int, ssl.SSLContext], None]]:
    """A loopback TLS listener that completes the handshake, reads the request and hangs up
    without answering: a broken exchange, every time."""
    stop = threading.Event()
    threads: list[threading.Thread] = []
    sockets: list[socket.socket] = []

    def serve(port: int, context: ssl.SSLContext) -> None:
        listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        listener.settimeout(0.2)
        sockets.append(listener)

        def loop() -> None:
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    with context.wrap_socket(raw, server_side=True) as conn:
                        conn.settimeout(2.0)
                        conn.recv(65536)
                except (OSError, ssl.SSLError):
                    pass
                finally:
                    raw.close()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)

    yield serve
    stop.set()
    for s in sockets:
        s.close()
    for t in threads:
        t.join(timeout=5)


def test_broken_exchange(
    federation_factory: Callable[..., Federation],
    breaking_listener: Callable[[int, ssl.SSLContext], None],
) -> None:
    """europol's line port answers with a TLS handshake and then a hang-up. interpol's
    envelope, sent alone past poison_after_failures, is set aside as failed with the code
    ``broken_exchange`` (docs/protocol.md §7, Poison)."""
    fed = federation_factory(PAIR, start=())
    europol_layout = fed.layout("europol")
    europol_config = load_config(fed.dirs["europol"])
    context = pki.server_ssl_context(
        europol_layout.tls_certificate,
        europol_layout.tls_key,
        [fed.layout("interpol").ca_certificate.read_bytes()],
        None,
    )
    breaking_listener(europol_config.line.port, context)
    set_option(fed.dirs["interpol"], "line", "retry_initial_seconds", "0.02")
    set_option(fed.dirs["interpol"], "line", "retry_max_seconds", "0.2")
    interpol = fed.start("interpol")
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=81))

    def failed() -> tuple[str, str | None] | None:
        with interpol.db.read() as conn:
            row = conn.execute(
                select(tables.deliveries.c.state, tables.deliveries.c.reason_code).where(
                    tables.deliveries.c.message_id == sent.id
                )
            ).first()
        return (row.state, row.reason_code) if row is not None and row.state == "failed" else None

    assert wait_for(failed, timeout=60, what="the envelope to be set aside") == (
        "failed",
        "broken_exchange",
    )


# --- more of §5: the envelope's form, its signer, its content ------------------------------


@pytest.mark.parametrize(
    "token",
    ["not-a-jws", "a.b.c", "eyJhbGciOiJub25lIn0.e30."],
    ids=["one-part", "garbage-parts", "alg-none"],
)
def test_malformed_envelope(pair: Federation, token: str) -> None:
    assert _refused(pair, token, "t-malformed-env") == ("refused", "malformed_envelope")


def test_wrong_signer(pair: Federation) -> None:
    """Signed with interpol's real key, but sent as a unit of ncb-madrid."""
    interpol = pair["interpol"]
    now = datetime.now(UTC)
    message = compose(
        parse_draft(sample("ops@europol", seed=9)),
        message_id=new_message_id(),
        sender=Address("ncb", "ncb-madrid"),
        now=now,
        default_review_date=(now + timedelta(days=365)).date(),
    )
    token = sign_message_envelope(
        envelope_payload(message, "europol", None), interpol.identity.signing
    )
    assert _refused(pair, token, "t-wrong-signer") == ("refused", "wrong_signer")


def test_decryption_failed(pair: Federation) -> None:
    """A confidential message sealed under europol's kid but to another X25519 key."""
    interpol, europol = pair["interpol"], pair["europol"]
    now = datetime.now(UTC)
    message = compose(
        parse_draft(sample("ops@europol", seed=11, confidential=True)),
        message_id=new_message_id(),
        sender=Address("cc", "interpol"),
        now=now,
        default_review_date=(now + timedelta(days=365)).date(),
    )
    assert message.header.confidential
    wrong = EncryptionPublicKey(
        kid=europol.identity.encryption.kid,
        public=generate_encryption_key("europol").private.public_key(),
    )
    jwe = encrypt_for(message.content_bytes, wrong)
    token = sign_message_envelope(
        envelope_payload(message, "europol", jwe), interpol.identity.signing
    )
    assert _refused(pair, token, "t-decrypt-001") == ("refused", "decryption_failed")


# --- more rules of sharing at RECEIVE ---------------------------------------------------------


def test_classification_above_ceiling(pair: Federation) -> None:
    """The pair's agreement has the ceiling ``restricted``."""
    _, token = _envelope(pair["interpol"], "ops@europol", classification="confidential")
    assert _refused(pair, token, "t-ceiling-01") == ("refused", "classification_above_ceiling")


def test_confidentiality_required(federation_factory: Callable[..., Federation]) -> None:
    fed = _with_agreement(federation_factory, confidentiality='"required"')
    _, token = _envelope(fed["interpol"], "ops@europol")
    assert _refused(fed, token, "t-confidential") == ("refused", "confidentiality_required")


def test_no_agreement(federation_factory: Callable[..., Federation]) -> None:
    """europol holds no agreement for the link: the transaction is refused whole."""
    fed = federation_factory(PAIR, start=())
    (fed.dirs["europol"] / "agreements" / "interpol.toml").unlink()
    fed.start("europol")
    fed.construct("interpol")  # not started: its keys sign, its sender stays quiet
    europol = fed["europol"]
    before = stored_counts(europol)
    _, token = _envelope(fed["interpol"], "ops@europol")
    answer = put(
        _as_interpol(fed),
        europol,
        "t-no-agreement",
        transaction_body([(token, ["interpol"])]),
        fed["interpol"].directory.agreement_digest("europol"),
    )
    _transaction_refused(fed, answer, 403, "no_agreement")
    assert stored_counts(europol) == before


# --- the peer's certificate (§1) --------------------------------------------------------------


def _reissued(
    ca: pki.Identity,
    node: str,
    uris: list[str],
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> pki.Identity:
    """A certificate from ``ca`` like a node's, with the SAN's URIs replaced by ``uris``."""
    base = pki.issue_node_certificate(ca, node, ["127.0.0.1"])
    cert = base.certificate
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(base.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or cert.not_valid_before_utc)
        .not_valid_after(not_after or cert.not_valid_after_utc)
    )
    for extension in cert.extensions:
        value = extension.value
        if isinstance(value, x509.SubjectAlternativeName):
            value = x509.SubjectAlternativeName(
                [
                    *(n for n in value if not isinstance(n, x509.UniformResourceIdentifier)),
                    *(x509.UniformResourceIdentifier(u) for u in uris),
                ]
            )
        builder = builder.add_extension(value, critical=extension.critical)
    return pki.Identity(builder.sign(ca.private_key, hashes.SHA256()), base.private_key)


def _ca_of(fed: Federation, name: str) -> pki.Identity:
    layout = fed.layout(name)
    return pki.load_identity(layout.ca_certificate, layout.ca_key, None)


def _as(fed: Federation, receiver: str, identity: pki.Identity, where: Path) -> ssl.SSLContext:
    cert, key = save_identity(where, "client", identity)
    return identity_context(fed.layout(receiver).ca_certificate.read_bytes(), cert, key)


@pytest.mark.parametrize(
    ("uris", "code"),
    [
        ([], "no_node_name"),
        (["urn:secureline:node:interpol", "urn:secureline:node:europol"], "malformed_certificate"),
    ],
    ids=["no-node-uri", "two-node-uris"],
)
def test_certificate_naming_no_node_or_two(
    pair: Federation, tmp_path: Path, uris: list[str], code: str
) -> None:
    """Issued by interpol's own (pinned) CA, so TLS accepts it; the names are wrong."""
    europol = pair["europol"]
    before = stored_counts(europol)
    _, token = _envelope(pair["interpol"], "ops@europol")
    identity = _reissued(_ca_of(pair, "interpol"), "interpol", uris)
    answer = put(
        _as(pair, "europol", identity, tmp_path / code),
        europol,
        "t-cert-names-1",
        transaction_body([(token, ["interpol"])]),
        _digest(pair),
    )
    _transaction_refused(pair, answer, 403, code)
    assert stored_counts(europol) == before


def test_not_issued_by_pinned_ca(chain: Federation, tmp_path: Path) -> None:
    """interpol trusts ncb-madrid's CA for ncb-madrid. A certificate from that CA naming
    europol passes the handshake and is refused: europol's pin is another CA."""
    interpol = chain["interpol"]
    before = stored_counts(interpol)
    _, token = _envelope(chain["europol"], "cc@interpol")
    identity = pki.issue_node_certificate(_ca_of(chain, "ncb-madrid"), "europol", ["127.0.0.1"])
    answer = put(
        _as(chain, "interpol", identity, tmp_path / "cross"),
        interpol,
        "t-cross-ca-01",
        transaction_body([(token, ["europol"])]),
        interpol.directory.agreement_digest("europol"),
    )
    assert answer.status_code == 403, answer.text
    assert error_code(answer) == "not_issued_by_pinned_ca"
    assert stored_counts(interpol) == before
    assert count_rows(interpol, tables.inbound_transactions) == 0


def _app_with_certificate(node: Node, der: bytes | None) -> Callable[..., Any]:
    """europol's own line application, as the TLS layer would hand it a request whose
    client certificate is ``der`` (without TLS: for what OpenSSL refuses before it)."""
    app = line_app(node.directory, node.inbox, lambda: node.settings.max_batch_bytes)

    async def with_certificate(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "extensions": {"tls": {"client_cert_der": der}}}
        await app(scope, receive, send)

    return with_certificate


@pytest.mark.parametrize(
    ("code", "window"),
    [
        ("certificate_not_yet_valid", (timedelta(days=1), timedelta(days=30))),
        ("certificate_expired", (-timedelta(days=30), -timedelta(days=1))),
    ],
)
def test_certificate_outside_its_window(
    pair: Federation, tmp_path: Path, code: str, window: tuple[timedelta, timedelta]
) -> None:
    """From interpol's pinned CA, naming interpol, outside its validity window. Over real TLS
    OpenSSL refuses it at the handshake (or the application answers the code); the
    application's own check, the second line, answers the code."""
    europol = pair["europol"]
    before = stored_counts(europol)
    now = datetime.now(UTC)
    identity = pki.issue_node_certificate(
        _ca_of(pair, "interpol"),
        "interpol",
        ["127.0.0.1"],
        not_before=now + window[0],
        not_after=now + window[1],
    )
    _, token = _envelope(pair["interpol"], "ops@europol")
    body = transaction_body([(token, ["interpol"])])
    try:
        answer = put(
            _as(pair, "europol", identity, tmp_path / code),
            europol,
            "t-window-01",
            body,
            _digest(pair),
        )
    except (httpx.TransportError, ssl.SSLError):
        pass  # refused at the handshake
    else:
        _transaction_refused(pair, answer, 403, code)

    der = identity.certificate.public_bytes(serialization.Encoding.DER)
    with TestClient(_app_with_certificate(europol, der)) as client:
        answer = client.put(
            "/line/v1/transactions/t-window-02",
            content=body,
            headers={
                "content-type": "application/json",
                "secureline-agreement": _digest(pair) or "",
            },
        )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == code
    assert stored_counts(europol) == before
    assert count_rows(europol, tables.inbound_transactions) == 0
