"""Signed envelopes: every test is an attack a relay or an outsider could try."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.jwk import OKPKey

from secureline.crypto.encoding import b64url_decode, b64url_encode
from secureline.crypto.envelope import (
    JWS_TYPE,
    peek_kid,
    sign_envelope,
    verify_envelope,
)
from secureline.crypto.errors import BadSignature, MalformedToken, UnknownKey
from secureline.crypto.keys import SigningKey, VerifyKey

PAYLOAD = orjson.dumps({"id": "m-1", "to": "ncb@bravo", "body": "x" * 2000})
# joserfc 1.8 marks "EdDSA" deprecated in favour of RFC 9864's "Ed25519"; the interop tests
# still use it because it is the alg our envelopes carry.
EDDSA_DEPRECATED = "ignore:EdDSA is deprecated:joserfc.errors.SecurityWarning"


def _keys(*keys: SigningKey) -> dict[str, VerifyKey]:
    return {key.kid: key.verify_key() for key in keys}


def _forge(header: Mapping[str, object], payload: bytes, signature: bytes) -> str:
    return ".".join(b64url_encode(part) for part in (orjson.dumps(header), payload, signature))


def _header(token: str) -> dict[str, object]:
    header = orjson.loads(b64url_decode(token.split(".", maxsplit=1)[0]))
    assert isinstance(header, dict)
    return header


# --- negative ---------------------------------------------------------------------------


def test_tampered_payload_is_refused(signing_key: SigningKey) -> None:
    header, _, signature = sign_envelope(PAYLOAD, signing_key).split(".")
    tampered = f"{header}.{b64url_encode(PAYLOAD.replace(b'bravo', b'evil0'))}.{signature}"
    with pytest.raises(BadSignature, match="does not verify"):
        verify_envelope(tampered, _keys(signing_key))


def test_tampered_signature_is_refused(signing_key: SigningKey) -> None:
    header, payload, signature = sign_envelope(PAYLOAD, signing_key).split(".")
    flipped = bytearray(b64url_decode(signature))
    flipped[0] ^= 1
    with pytest.raises(BadSignature, match="does not verify"):
        verify_envelope(f"{header}.{payload}.{b64url_encode(bytes(flipped))}", _keys(signing_key))


def test_truncated_signature_is_refused(signing_key: SigningKey) -> None:
    header, payload, signature = sign_envelope(PAYLOAD, signing_key).split(".")
    short = b64url_encode(b64url_decode(signature)[:32])
    with pytest.raises(BadSignature, match="does not verify"):
        verify_envelope(f"{header}.{payload}.{short}", _keys(signing_key))


def test_alg_none_is_refused(signing_key: SigningKey) -> None:
    token = _forge({"alg": "none", "kid": signing_key.kid, "typ": JWS_TYPE}, PAYLOAD, b"")
    with pytest.raises(MalformedToken, match="alg must be 'EdDSA'"):
        verify_envelope(token, _keys(signing_key))


def test_alg_confusion_hmac_with_public_key_is_refused(signing_key: SigningKey) -> None:
    """The classic: sign HS256 with the verifier's public key bytes as the HMAC secret."""
    public = signing_key.verify_key().public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    header = b64url_encode(orjson.dumps({"alg": "HS256", "kid": signing_key.kid, "typ": JWS_TYPE}))
    signing_input = f"{header}.{b64url_encode(PAYLOAD)}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(MalformedToken, match="alg must be 'EdDSA'"):
        verify_envelope(f"{signing_input}.{b64url_encode(mac)}", _keys(signing_key))


@pytest.mark.parametrize("alg", ["eddsa", "Ed25519", "ES256", None, ["EdDSA"]])
def test_any_alg_but_eddsa_is_refused(signing_key: SigningKey, alg: object) -> None:
    token = _forge({"alg": alg, "kid": signing_key.kid, "typ": JWS_TYPE}, PAYLOAD, b"s" * 64)
    with pytest.raises(MalformedToken, match="alg must be"):
        verify_envelope(token, _keys(signing_key))


def test_crit_header_is_refused(signing_key: SigningKey) -> None:
    header = {"alg": "EdDSA", "kid": signing_key.kid, "typ": JWS_TYPE, "crit": ["b64"]}
    with pytest.raises(MalformedToken, match="crit"):
        verify_envelope(_forge(header, PAYLOAD, b"s" * 64), _keys(signing_key))


@pytest.mark.parametrize(
    "member",
    [
        {"b64": False},  # RFC 7797: would change the bytes that are signed
        {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}},  # attacker-supplied key
        {"jku": "https://evil.example/keys"},  # attacker-supplied key URL
        {"x5c": ["AAAA"]},
    ],
)
def test_header_smuggling_a_key_or_extension_is_refused(
    signing_key: SigningKey, member: dict[str, object]
) -> None:
    header = {"alg": "EdDSA", "kid": signing_key.kid, "typ": JWS_TYPE, **member}
    with pytest.raises(MalformedToken, match="unexpected members"):
        verify_envelope(_forge(header, PAYLOAD, b"s" * 64), _keys(signing_key))


def test_unknown_kid_is_refused(signing_key: SigningKey, other_signing_key: SigningKey) -> None:
    token = sign_envelope(PAYLOAD, other_signing_key)
    with pytest.raises(UnknownKey, match="no trusted key"):
        verify_envelope(token, _keys(signing_key))


def test_no_trusted_keys_refuses_everything(signing_key: SigningKey) -> None:
    with pytest.raises(UnknownKey, match="no trusted key"):
        verify_envelope(sign_envelope(PAYLOAD, signing_key), {})


def test_key_filed_under_another_kid_is_refused(
    signing_key: SigningKey, other_signing_key: SigningKey
) -> None:
    """A mis-built key map must not let one node's key vouch under another's name."""
    token = sign_envelope(PAYLOAD, other_signing_key)
    keys = {other_signing_key.kid: signing_key.verify_key()}
    with pytest.raises(UnknownKey, match="no trusted key"):
        verify_envelope(token, keys)


def test_signature_from_other_key_is_refused(
    signing_key: SigningKey, other_signing_key: SigningKey
) -> None:
    """An outsider signs with its own key but claims the trusted kid."""
    impostor = SigningKey(kid=signing_key.kid, private=other_signing_key.private)
    with pytest.raises(BadSignature, match="does not verify"):
        verify_envelope(sign_envelope(PAYLOAD, impostor), _keys(signing_key, other_signing_key))


def test_kid_swapped_to_other_trusted_key_is_refused(
    signing_key: SigningKey, other_signing_key: SigningKey
) -> None:
    """A relay rewrites the kid to blame a different trusted sender."""
    _, payload, signature = sign_envelope(PAYLOAD, signing_key).split(".")
    header = b64url_encode(
        orjson.dumps({"alg": "EdDSA", "kid": other_signing_key.kid, "typ": JWS_TYPE})
    )
    with pytest.raises(BadSignature, match="does not verify"):
        verify_envelope(f"{header}.{payload}.{signature}", _keys(signing_key, other_signing_key))


def test_evidence_replayed_as_envelope_is_refused(signing_key: SigningKey) -> None:
    token = sign_envelope(PAYLOAD, signing_key, typ="secureline-evidence+jws")
    with pytest.raises(MalformedToken, match="typ must be"):
        verify_envelope(token, _keys(signing_key))


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "a.b.c.d.e", "..", "....", "a..b"],
)
def test_wrong_number_of_parts_is_refused(signing_key: SigningKey, token: str) -> None:
    with pytest.raises(MalformedToken):
        verify_envelope(token, _keys(signing_key))


def test_non_ascii_token_is_refused(signing_key: SigningKey) -> None:
    with pytest.raises(MalformedToken, match="not ASCII"):
        verify_envelope(sign_envelope(PAYLOAD, signing_key) + "é", _keys(signing_key))


@pytest.mark.parametrize(
    "header_bytes",
    [b"not json", b"[1,2]", b'"EdDSA"', b"null", b"{}", b'{"alg":"EdDSA"}'],
)
def test_header_that_is_not_our_object_is_refused(
    signing_key: SigningKey, header_bytes: bytes
) -> None:
    token = f"{b64url_encode(header_bytes)}.{b64url_encode(PAYLOAD)}.{b64url_encode(b's' * 64)}"
    with pytest.raises(MalformedToken, match=r"protected header|alg must be"):
        verify_envelope(token, _keys(signing_key))


def test_missing_kid_is_refused(signing_key: SigningKey) -> None:
    token = _forge({"alg": "EdDSA", "typ": JWS_TYPE}, PAYLOAD, b"s" * 64)
    with pytest.raises(MalformedToken, match="no kid"):
        verify_envelope(token, _keys(signing_key))


def test_oversized_header_is_refused(signing_key: SigningKey) -> None:
    header = {"alg": "EdDSA", "kid": "k" * 2000, "typ": JWS_TYPE}
    with pytest.raises(MalformedToken, match="too long"):
        verify_envelope(_forge(header, PAYLOAD, b"s" * 64), _keys(signing_key))


def test_padded_signature_is_refused(signing_key: SigningKey) -> None:
    """A second spelling of a valid token would defeat deduplication by token hash."""
    header, payload, _ = sign_envelope(PAYLOAD, signing_key).split(".")
    signature = signing_key.sign(f"{header}.{payload}".encode())
    padded = base64.urlsafe_b64encode(signature).decode()
    assert padded.endswith("=")
    with pytest.raises(MalformedToken, match="base64url"):
        verify_envelope(f"{header}.{payload}.{padded}", _keys(signing_key))


def test_peek_kid_refuses_garbage() -> None:
    with pytest.raises(MalformedToken, match="parts"):
        peek_kid("garbage")


# --- positive ---------------------------------------------------------------------------


def test_round_trip(signing_key: SigningKey) -> None:
    token = sign_envelope(PAYLOAD, signing_key)
    verified = verify_envelope(token, _keys(signing_key))
    assert verified.payload == PAYLOAD
    assert verified.kid == signing_key.kid
    assert verified.typ == JWS_TYPE
    assert _header(token) == {"alg": "EdDSA", "kid": signing_key.kid, "typ": JWS_TYPE}


def test_custom_typ_round_trip(signing_key: SigningKey) -> None:
    token = sign_envelope(b"", signing_key, typ="secureline-evidence+jws")
    verified = verify_envelope(token, _keys(signing_key), typ="secureline-evidence+jws")
    assert verified.payload == b""
    assert verified.typ == "secureline-evidence+jws"


def test_header_is_the_same_bytes_for_the_same_key(signing_key: SigningKey) -> None:
    first = sign_envelope(b"one", signing_key).split(".")[0]
    assert sign_envelope(b"two", signing_key).split(".")[0] == first


def test_peek_kid_reads_without_verifying(signing_key: SigningKey) -> None:
    header, _, signature = sign_envelope(PAYLOAD, signing_key).split(".")
    assert peek_kid(f"{header}.{b64url_encode(b'tampered')}.{signature}") == signing_key.kid


@pytest.mark.filterwarnings(EDDSA_DEPRECATED)
def test_our_jws_verifies_with_joserfc(signing_key: SigningKey) -> None:
    token = sign_envelope(PAYLOAD, signing_key)
    public = OKPKey.import_key(signing_key.verify_key().public)
    result = jws.deserialize_compact(token, public, algorithms=["EdDSA"])
    assert result.payload == PAYLOAD
    assert result.headers() == {"alg": "EdDSA", "kid": signing_key.kid, "typ": JWS_TYPE}


@pytest.mark.filterwarnings(EDDSA_DEPRECATED)
def test_joserfc_token_verifies_with_ours(signing_key: SigningKey) -> None:
    private = OKPKey.import_key(signing_key.private)
    header = {"alg": "EdDSA", "kid": signing_key.kid, "typ": JWS_TYPE}
    token = jws.serialize_compact(header, PAYLOAD, private, algorithms=["EdDSA"])
    assert verify_envelope(token, _keys(signing_key)).payload == PAYLOAD
