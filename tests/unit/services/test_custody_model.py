"""The evidence document's wire model, the issuer rules and the delivery transitions (issue 13
§1.2, issue 21): every field bounded and typed once, refused with a code naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import orjson
import pytest

from secureline.crypto.encoding import b64url_encode_bytes
from secureline.crypto.envelope import sign_envelope
from secureline.crypto.keys import SigningKey, generate_signing_key
from secureline.services.line import custody
from secureline.services.line.directory import Directory
from secureline.services.line.evidence import TRANSITIONS, Move, move
from secureline.services.line.evidence_model import (
    MAX_REASON_TEXT_CHARS,
    EvidenceRefused,
    fit_item,
    parse_evidence,
    read_evidence_payload,
)
from secureline.services.line.wire import (
    EVIDENCE_TYPE,
    EvidenceItem,
    EvidenceKind,
    WireError,
    sign_evidence,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DIGEST = "ab" * 32


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key("europol")


def _payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "v": 1,
        "id": "ev-0123456789abcdef01234567",
        "issuer": "europol",
        "issued_at": NOW.isoformat(),
        "checkpoint": None,
        "items": [
            {
                "message_id": "msg-0123456789abcdef01234567",
                "origin": "interpol",
                "destination": "europol",
                "kind": "delivered",
                "envelope_sha256": DIGEST,
                "reason_code": None,
                "reason_text": None,
            }
        ],
    }
    for name, value in changes.items():
        if name.startswith("item_"):
            payload["items"][0][name.removeprefix("item_")] = value
        else:
            payload[name] = value
    return payload


def _read(**changes: Any) -> Any:
    return read_evidence_payload(orjson.dumps(_payload(**changes)), "europol", "token")


def test_a_document_we_sign_is_read_back_as_it_was(key: SigningKey) -> None:
    item = EvidenceItem(
        "msg-0123456789abcdef01234567", "interpol", "europol", EvidenceKind.REFUSED, DIGEST,
        "hop_limit_exceeded", "3 hops reach the limit 3",
    )  # fmt: skip
    token = sign_evidence("ev-1", "europol", NOW, [item], "a.b.c", key)
    document = parse_evidence(token, {key.kid: key.verify_key()})
    assert (document.id, document.issuer, document.issued_at) == ("ev-1", "europol", NOW)
    assert (document.items, document.checkpoint, document.token) == ((item,), "a.b.c", token)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"checkpoint": 5}, "malformed_evidence", "checkpoint"),
        ({"checkpoint": [1]}, "malformed_evidence", "checkpoint"),
        ({"checkpoint": {"seq": 1}}, "malformed_evidence", "checkpoint"),
        ({"checkpoint": "x" * 3000}, "field_too_long", "checkpoint"),
        ({"checkpoint": "not a jws"}, "invalid_field", "checkpoint"),
        ({"id": "e" * 10_000}, "field_too_long", "id"),
        ({"id": "ev-\x00"}, "invalid_field", "id"),
        ({"id": ""}, "invalid_field", "id"),
        ({"id": 7}, "malformed_evidence", "id"),
        ({"issued_at": "2026-12-03T12:00:00"}, "invalid_field", "issued_at"),
        ({"issued_at": "yesterday"}, "invalid_field", "issued_at"),
        ({"issued_at": "2" * 100}, "field_too_long", "issued_at"),
        ({"v": 2}, "invalid_field", "v"),
        ({"items": 5}, "malformed_evidence", "items"),
        ({"items": [5]}, "malformed_evidence", "items[0]"),
        ({"items": [{}] * 10_001}, "field_too_long", "items"),
        ({"item_message_id": "m" * 10_000}, "field_too_long", "items[0].message_id"),
        ({"item_message_id": "has a space"}, "invalid_field", "items[0].message_id"),
        ({"item_origin": "Interpol"}, "invalid_field", "items[0].origin"),
        ({"item_destination": "d" * 64}, "field_too_long", "items[0].destination"),
        ({"item_destination": None}, "malformed_evidence", "items[0].destination"),
        ({"item_kind": "lost"}, "invalid_field", "items[0].kind"),
        ({"item_kind": ["read"]}, "invalid_field", "items[0].kind"),
        ({"item_envelope_sha256": "AB" * 32}, "invalid_field", "items[0].envelope_sha256"),
        ({"item_reason_code": "x" * 61}, "field_too_long", "items[0].reason_code"),
        ({"item_reason_code": "a\x00"}, "invalid_field", "items[0].reason_code"),
        ({"item_reason_code": 5}, "malformed_evidence", "items[0].reason_code"),
        ({"item_reason_text": "t" * 1001}, "field_too_long", "items[0].reason_text"),
        ({"item_reason_text": "line\nfeed"}, "invalid_field", "items[0].reason_text"),
        ({"item_reason_text": "nul\x00"}, "invalid_field", "items[0].reason_text"),
        ({"item_reason_text": {}}, "malformed_evidence", "items[0].reason_text"),
    ],
)
def test_each_field_is_bounded_and_typed(changes: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(EvidenceRefused) as caught:
        _read(**changes)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert len(str(caught.value)) < 200  # the value itself is never repeated


def test_missing_members_and_other_payloads_are_malformed() -> None:
    payload = _payload()
    del payload["checkpoint"]
    for data in (orjson.dumps(payload), b"[]", b"not json", b'"\\ud800"'):
        with pytest.raises(EvidenceRefused) as caught:
            read_evidence_payload(data, "europol", "token")
        assert caught.value.code == "malformed_evidence"


def test_the_issuer_must_be_the_signer() -> None:
    with pytest.raises(WireError) as caught:
        read_evidence_payload(orjson.dumps(_payload()), "interpol", "token")
    assert caught.value.code == "wrong_signer"


@pytest.mark.parametrize("token", [5, None, ["a.b.c"], {"token": "a.b.c"}, b"a.b.c"])
def test_a_token_that_is_not_a_string_is_refused(token: object, key: SigningKey) -> None:
    with pytest.raises(EvidenceRefused) as caught:
        parse_evidence(token, {key.kid: key.verify_key()})
    assert caught.value.code == "malformed_evidence"


class _Directory:
    node = "interpol"

    def __init__(self, key: SigningKey) -> None:
        self.verify_keys = {key.kid: key.verify_key()}


def test_check_skips_a_bad_document_with_its_code_and_an_audit_event(key: SigningKey) -> None:
    good = sign_evidence("ev-good", "europol", NOW, [], None, key)
    bad = sign_envelope(orjson.dumps(_payload(checkpoint=5)), key, typ=EVIDENCE_TYPE)
    intake = custody.check([bad, 5, good], cast(Directory, _Directory(key)))
    assert [d.id for d in intake.documents] == ["ev-good"]
    assert [r.split(":")[0] for r in intake.rejected] == ["malformed_evidence"] * 2
    assert [(e.actor, e.outcome, (e.detail or {})["reason"]) for e in intake.events] == [
        ("interpol", "evidence_refused", "malformed_evidence")
    ] * 2
    assert all(e.object.startswith("evidence-") for e in intake.events)


def test_what_we_sign_fits_what_receivers_take() -> None:
    item = EvidenceItem(
        "msg-0123456789abcdef01234567", "interpol", "europol", EvidenceKind.REFUSED, DIGEST,
        "Not A Code", "path ['x\x00', '\ud800']" + "y" * 5000,
    )  # fmt: skip
    fitted = fit_item(item)
    assert fitted is not None
    assert fitted.reason_code == "invalid_reason_code"
    assert fitted.reason_text is not None
    assert len(fitted.reason_text) == MAX_REASON_TEXT_CHARS
    raw = orjson.dumps(_payload(items=[fitted.to_json()]))
    assert read_evidence_payload(raw, "europol", "token").items == (fitted,)
    assert fit_item(item._replace(reason_code=None, reason_text=None)) == item._replace(
        reason_code=None, reason_text=None
    )
    # An item naming a destination no node can hold a delivery for is left out.
    assert fit_item(item._replace(destination="d" * 10_000)) is None
    assert fit_item(item._replace(message_id="x")) is None


# --- who is believed, and which moves exist ----------------------------------------------


class _Routes:
    node = "origin"


def _item(kind: str, destination: str = "dest") -> EvidenceItem:
    return EvidenceItem(
        "msg-0123456789abcdef01234567", "origin", destination, EvidenceKind(kind), DIGEST
    )


def _concerns(
    issuer: str, kind: str, state: str = "relayed", hop: str = "relay", via: str | None = None
) -> bool:
    delivery = custody.Delivery(state, hop)
    return custody.concerns(issuer, _item(kind), delivery, cast(Directory, _Routes()), via)


@pytest.mark.parametrize("kind", ["delivered", "read", "refused"])
def test_the_destination_is_believed_about_its_delivery(kind: str) -> None:
    assert _concerns("dest", kind)
    assert _concerns("dest", kind, hop="dest")
    assert not _concerns("dest", "relayed")


@pytest.mark.parametrize("kind", ["delivered", "read"])
def test_only_the_destination_reports_arrival(kind: str) -> None:
    assert not _concerns("relay", kind)
    assert not _concerns("stranger", kind, via="relay")


def test_a_relay_reports_its_own_step() -> None:
    assert _concerns("relay", "relayed")
    assert _concerns("relay", "refused")
    # A direct delivery has no relay: nobody but the destination speaks about it.
    assert not _concerns("relay", "refused", hop="dest")
    assert not _concerns("origin", "refused")


def test_a_node_beyond_the_next_hop_is_believed_only_back_over_its_link() -> None:
    assert _concerns("further", "refused", via="relay")
    assert not _concerns("further", "refused", via="stranger")
    # Not told the link: only once the next hop has taken custody can anyone beyond it know.
    assert _concerns("further", "refused", state="relayed")
    assert not _concerns("further", "refused", state="sent")
    assert not _concerns("further", "refused", state="queued")


@pytest.mark.parametrize(
    ("state", "kind", "expected"),
    [
        ("queued", "relayed", Move.FORWARD),
        ("sent", "delivered", Move.FORWARD),
        ("sent", "refused", Move.FORWARD),
        ("relayed", "delivered", Move.FORWARD),
        ("relayed", "refused", Move.FORWARD),
        ("relayed", "read", Move.FORWARD),
        ("delivered", "read", Move.FORWARD),
        ("relayed", "relayed", Move.LATE),
        ("delivered", "relayed", Move.LATE),
        ("delivered", "delivered", Move.LATE),
        ("read", "delivered", Move.LATE),
        ("refused", "refused", Move.LATE),
        ("delivered", "refused", Move.CONFLICT),
        ("read", "refused", Move.CONFLICT),
        ("refused", "delivered", Move.CONFLICT),
        ("refused", "read", Move.CONFLICT),
        ("held", "delivered", Move.CONFLICT),
        ("unknown", "delivered", Move.CONFLICT),
    ],
)
def test_a_delivery_moves_only_forward(state: str, kind: str, expected: Move) -> None:
    assert move(state, kind) is expected


def test_every_state_of_the_store_has_its_transitions() -> None:
    assert set(TRANSITIONS) == {"queued", "sent", "relayed", "delivered", "read", "refused", "held"}
    assert all(
        kind in {k.value for k in EvidenceKind} for moves in TRANSITIONS.values() for kind in moves
    )


def test_a_rejection_quoting_a_long_header_is_bounded(key: SigningKey) -> None:
    header = b64url_encode_bytes(orjson.dumps({"alg": "x" * 700, "kid": "k", "typ": "t"}))
    intake = custody.check([header.decode() + ".e30.c2ln"], cast(Directory, _Directory(key)))
    (line,) = intake.rejected
    assert line.startswith("malformed_envelope: ")
    assert len(line) <= 330
