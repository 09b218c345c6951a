"""Grants: signed by the provider's node, verified at every crossing (issue 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from secureline.crypto.keys import generate_signing_key
from secureline.domain.message import Forwarded, Grant, GrantScope
from secureline.services.permissions import (
    INVALID_GRANT,
    GrantError,
    check_grants,
    grant_json,
    grant_payload,
    parse_grant,
    sign_grant,
    verify_grant,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PROVIDER = generate_signing_key("ncb-madrid")
OTHER = generate_signing_key("interpol")
IMPOSTOR = generate_signing_key("ncb-madrid")  # same node name, a key nobody pinned
KEYS = {k.kid: k.verify_key() for k in (PROVIDER, OTHER)}
FORWARDED = Forwarded(
    message_id="msg-000000000000000000000001",
    provider="ncb@ncb-madrid",
    handling="H2",
    purpose="prevent and combat serious crime",
)


def grant(**overrides: object) -> Grant:
    fields: dict[str, object] = {
        "id": "grant-000000000000000000000001",
        "message_id": FORWARDED.message_id,
        "provider": "ncb@ncb-madrid",
        "grantee": "europol",
        "scope": GrantScope.ONWARD_TRANSFER,
        "until": NOW + timedelta(days=30),
    }
    return Grant.model_validate({**fields, **overrides})


def problems(*grants: Grant) -> tuple[frozenset[str], list[str]]:
    valid, reasons = check_grants(FORWARDED.model_copy(update={"grants": grants}), KEYS, NOW)
    assert all(r.code == INVALID_GRANT for r in reasons)
    return valid, [r.text for r in reasons]


def test_a_signed_grant_verifies_and_round_trips() -> None:
    signed = sign_grant(grant(), PROVIDER)
    verify_grant(signed, KEYS)
    again = parse_grant(grant_json(signed))
    assert again == signed
    verify_grant(again, KEYS)
    assert problems(again) == (frozenset({again.id}), [])


def test_the_signature_covers_the_canonical_json_without_the_signature() -> None:
    signed = sign_grant(grant(), PROVIDER)
    assert signed.signature is not None
    assert b'"signature"' not in grant_payload(signed)
    assert grant_payload(signed) == grant_payload(grant())


def test_a_forged_grant_is_refused_naming_it() -> None:
    forged = sign_grant(grant(), IMPOSTOR)
    valid, reasons = problems(forged)
    assert valid == frozenset()
    assert forged.id in reasons[0]
    assert "does not verify" in reasons[0]


def test_an_altered_grant_is_refused() -> None:
    signed = sign_grant(grant(), PROVIDER)
    widened = signed.model_copy(update={"until": NOW + timedelta(days=3650)})
    valid, reasons = problems(widened)
    assert valid == frozenset()
    assert "altered" in reasons[0]
    retargeted = signed.model_copy(update={"grantee": "fbi"})
    assert problems(retargeted)[0] == frozenset()


def test_an_unsigned_grant_is_refused() -> None:
    valid, reasons = problems(grant())
    assert valid == frozenset()
    assert "not signed" in reasons[0]


def test_an_expired_grant_is_refused_naming_it() -> None:
    expired = sign_grant(grant(until=NOW - timedelta(seconds=1)), PROVIDER)
    valid, reasons = problems(expired)
    assert valid == frozenset()
    assert expired.id in reasons[0]
    assert "expired" in reasons[0]


def test_a_grant_for_another_message_is_refused() -> None:
    other = sign_grant(grant(message_id="msg-00000000000000000000ffff"), PROVIDER)
    valid, reasons = problems(other)
    assert valid == frozenset()
    assert "msg-00000000000000000000ffff" in reasons[0]


def test_a_grant_from_someone_other_than_the_provider_is_refused() -> None:
    # signed properly by interpol, for interpol's "own" permission on ncb-madrid's message
    not_provider = sign_grant(grant(provider="cc@interpol"), OTHER)
    valid, reasons = problems(not_provider)
    assert valid == frozenset()
    assert "not from the provider ncb-madrid" in reasons[0]
    # a grant naming the provider but signed by another node
    wrong_signer = sign_grant(grant(), OTHER)
    with pytest.raises(GrantError, match="signed by interpol"):
        verify_grant(wrong_signer, KEYS)


def test_one_bad_grant_does_not_spoil_a_good_one() -> None:
    good = sign_grant(grant(), PROVIDER)
    bad = sign_grant(grant(id="grant-00000000000000000000beef"), IMPOSTOR)
    valid, reasons = problems(good, bad)
    assert valid == frozenset({good.id})
    assert len(reasons) == 1
    assert bad.id in reasons[0]


def test_a_malformed_grant_is_named() -> None:
    with pytest.raises(GrantError, match="not JSON"):
        parse_grant("{")
    with pytest.raises(GrantError, match="grant-x"):
        parse_grant({"id": "grant-x"})


def test_a_grant_until_a_time_without_a_zone_is_refused_not_compared() -> None:
    # A naive ``until`` used to pass, then raise TypeError when compared with an aware now
    # (at the destination of a permission-grant message, after relays took it unread).
    signed = sign_grant(grant(), PROVIDER)
    text = grant_json(signed).replace('"2026-12-29T12:00:00Z"', '"2026-12-29T12:00:00"')
    assert text != grant_json(signed)
    with pytest.raises(GrantError, match="until: Input should have timezone info"):
        parse_grant(text)


def test_a_grant_whose_id_only_contains_an_id_is_refused() -> None:
    with pytest.raises(GrantError, match="id"):
        parse_grant({**grant().model_dump(mode="json"), "id": "x grant-000000000000000000000001 x"})
