"""A partner checkpoint is kept only if it verifies and its fields fit the store's columns
(issue 21: a validly signed seq of 2^63 raised OverflowError from the driver)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from secureline.crypto.envelope import sign_envelope
from secureline.crypto.keys import SigningKey, generate_signing_key
from secureline.domain.audit import checkpoint_payload
from secureline.services.audit import CHECKPOINT_TYP, AuditLog, PartnerCheckpointRefused
from secureline.store import audit as store
from secureline.store.database import Database

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def alpha_key() -> SigningKey:
    return generate_signing_key("alpha")


@pytest.fixture
def bravo(database_factory: Callable[[str], Database]) -> AuditLog:
    return AuditLog(database_factory("bravo"), "bravo", generate_signing_key("bravo"))


def _signed(key: SigningKey, seq: int, node: str = "alpha") -> str:
    return sign_envelope(checkpoint_payload(node, seq, "a" * 64, T0), key, CHECKPOINT_TYP)


@pytest.mark.parametrize("seq", [2**63, 2**63 + 1, 2**64 - 1])
def test_a_signed_checkpoint_beyond_the_seq_column_is_refused(
    bravo: AuditLog, alpha_key: SigningKey, seq: int
) -> None:
    keys = {alpha_key.kid: alpha_key.verify_key()}
    with pytest.raises(PartnerCheckpointRefused) as caught:
        bravo.store_partner_checkpoint("alpha", _signed(alpha_key, seq), keys)
    assert caught.value.code == "checkpoint_out_of_range"
    assert bravo.partner_checkpoints("alpha") == []


def test_the_largest_seq_the_column_holds_is_kept(bravo: AuditLog, alpha_key: SigningKey) -> None:
    keys = {alpha_key.kid: alpha_key.verify_key()}
    kept = bravo.store_partner_checkpoint("alpha", _signed(alpha_key, store.MAX_SEQ), keys)
    assert kept.seq == 2**63 - 1
    assert [c.seq for c in bravo.partner_checkpoints("alpha")] == [2**63 - 1]


def test_refusals_name_their_cause(bravo: AuditLog, alpha_key: SigningKey) -> None:
    keys = {alpha_key.kid: alpha_key.verify_key()}
    other = generate_signing_key("alpha")
    cases = [
        (_signed(other, 1), "checkpoint_unknown_key"),
        (sign_envelope(b"{}", alpha_key, CHECKPOINT_TYP), "checkpoint_malformed"),
        (_signed(alpha_key, 1, node="charlie"), "checkpoint_wrong_node"),
        ("a.b", "checkpoint_malformed_envelope"),
    ]
    for token, code in cases:
        with pytest.raises(PartnerCheckpointRefused) as caught:
            bravo.store_partner_checkpoint("alpha", token, keys)
        assert caught.value.code == code


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", -1),
        ("seq", 2**63),
        ("peer", ""),
        ("peer", "p" * 64),
        ("peer", "a\x00"),
        ("head_hash", "a" * 65),
        ("token", ""),
        ("token", "t" * (store.MAX_PARTNER_TOKEN_CHARS + 1)),
        ("token", "a.b\x00.c"),
        ("token", "a.b.\u00e9"),
    ],
)
def test_the_store_refuses_values_its_columns_cannot_hold(
    database_factory: Callable[[str], Database], field: str, value: object
) -> None:
    values: dict[str, object] = {
        "peer": "alpha",
        "seq": 1,
        "at": T0,
        "head_hash": "a" * 64,
        "token": "a.b.c",
        "received_at": T0,
    }
    values[field] = value
    row = store.PartnerCheckpointRow(**values)  # type: ignore[arg-type]
    with pytest.raises(store.UnfitPartnerCheckpoint):
        store.save_partner_checkpoint(database_factory("charlie"), row)
