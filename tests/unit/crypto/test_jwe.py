"""Confidential bodies: only the destination node may read them, and nobody may alter them."""

from __future__ import annotations

import orjson
import pytest
from joserfc import jwe
from joserfc.jwk import OKPKey

from secureline.crypto.encoding import b64url_decode, b64url_encode
from secureline.crypto.errors import DecryptionFailed
from secureline.crypto.jwe import MAX_PLAINTEXT_BYTES, decrypt_with, encrypt_for
from secureline.crypto.keys import EncryptionKey, generate_encryption_key

BODY = b'{"narrative": "suspect seen at the border crossing"}'


@pytest.fixture(scope="module")
def recipient() -> EncryptionKey:
    return generate_encryption_key("bravo")


@pytest.fixture(scope="module")
def stranger() -> EncryptionKey:
    return generate_encryption_key("mallory")


def _flip(segment: str) -> str:
    data = bytearray(b64url_decode(segment))
    data[0] ^= 1
    return b64url_encode(bytes(data))


def _joserfc_token(recipient: EncryptionKey, header: dict[str, str]) -> str:
    public = OKPKey.import_key(recipient.public_key().public)
    return jwe.encrypt_compact(header, BODY, public, algorithms=[header["alg"], header["enc"]])


# --- negative ---------------------------------------------------------------------------


def test_tampered_ciphertext_is_refused(recipient: EncryptionKey) -> None:
    parts = encrypt_for(BODY, recipient.public_key()).split(".")
    parts[3] = _flip(parts[3])
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        decrypt_with(".".join(parts), recipient)


def test_tampered_tag_is_refused(recipient: EncryptionKey) -> None:
    parts = encrypt_for(BODY, recipient.public_key()).split(".")
    parts[4] = _flip(parts[4])
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        decrypt_with(".".join(parts), recipient)


def test_tampered_iv_is_refused(recipient: EncryptionKey) -> None:
    parts = encrypt_for(BODY, recipient.public_key()).split(".")
    parts[2] = _flip(parts[2])
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        decrypt_with(".".join(parts), recipient)


def test_tampered_header_is_refused(recipient: EncryptionKey) -> None:
    """The protected header is the GCM AAD: re-encoding it, even equivalently, breaks the tag."""
    parts = encrypt_for(BODY, recipient.public_key()).split(".")
    header = orjson.loads(b64url_decode(parts[0]))
    parts[0] = b64url_encode(orjson.dumps(dict(reversed(list(header.items())))))
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        decrypt_with(".".join(parts), recipient)


def test_swapped_ephemeral_key_is_refused(
    recipient: EncryptionKey, stranger: EncryptionKey
) -> None:
    parts = encrypt_for(BODY, recipient.public_key()).split(".")
    header = orjson.loads(b64url_decode(parts[0]))
    header["epk"]["x"] = stranger.public_key().to_text()
    parts[0] = b64url_encode(orjson.dumps(header))
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        decrypt_with(".".join(parts), recipient)


def test_wrong_recipient_key_is_refused(recipient: EncryptionKey, stranger: EncryptionKey) -> None:
    """A node holding a different private key cannot read, even if it claims the kid."""
    token = encrypt_for(BODY, recipient.public_key())
    impostor = EncryptionKey(kid=recipient.kid, private=stranger.private)
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        decrypt_with(token, impostor)


def test_kid_mismatch_is_refused(recipient: EncryptionKey, stranger: EncryptionKey) -> None:
    token = encrypt_for(BODY, recipient.public_key())
    with pytest.raises(DecryptionFailed, match="is for key"):
        decrypt_with(token, stranger)


@pytest.mark.parametrize(
    ("alg", "enc"),
    [("ECDH-ES+A256KW", "A256GCM"), ("ECDH-ES", "A128GCM"), ("ECDH-ES", "A256CBC-HS512")],
)
def test_other_algorithms_are_refused(recipient: EncryptionKey, alg: str, enc: str) -> None:
    token = _joserfc_token(recipient, {"alg": alg, "enc": enc, "kid": recipient.kid})
    with pytest.raises(DecryptionFailed, match="must use ECDH-ES/A256GCM"):
        decrypt_with(token, recipient)


def test_compressed_body_is_refused(recipient: EncryptionKey) -> None:
    """``zip`` invites decompression bombs and size side channels; we never accept it."""
    public = OKPKey.import_key(recipient.public_key().public)
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": recipient.kid, "zip": "DEF"}
    token = jwe.encrypt_compact(header, BODY, public, algorithms=["ECDH-ES", "A256GCM", "DEF"])
    with pytest.raises(DecryptionFailed, match="accepted shape"):
        decrypt_with(token, recipient)


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c.d.e", "eyJ9.a.b.c.d", b64url_encode(b"[]") + "....", "é.a.b.c.d"],
)
def test_garbage_is_refused(recipient: EncryptionKey, token: str) -> None:
    with pytest.raises(DecryptionFailed):
        decrypt_with(token, recipient)


def test_truncated_token_is_refused(recipient: EncryptionKey) -> None:
    parts = encrypt_for(BODY, recipient.public_key()).split(".")
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        decrypt_with(".".join(parts[:4]), recipient)


def test_oversized_plaintext_is_refused_at_the_sender(recipient: EncryptionKey) -> None:
    with pytest.raises(ValueError, match="exceeds the JWE size limit"):
        encrypt_for(bytes(MAX_PLAINTEXT_BYTES + 1), recipient.public_key())


# --- positive ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", [BODY, b"", bytes(100_000)])
def test_round_trip(recipient: EncryptionKey, body: bytes) -> None:
    token = encrypt_for(body, recipient.public_key())
    assert decrypt_with(token, recipient) == body


def test_header_names_the_recipient_and_algorithms(recipient: EncryptionKey) -> None:
    token = encrypt_for(BODY, recipient.public_key())
    parts = token.split(".")
    assert len(parts) == 5
    assert parts[1] == ""  # direct key agreement: no encrypted key
    header = orjson.loads(b64url_decode(parts[0]))
    assert header["alg"] == "ECDH-ES"
    assert header["enc"] == "A256GCM"
    assert header["kid"] == recipient.kid
    assert header["epk"]["crv"] == "X25519"


def test_each_encryption_is_fresh(recipient: EncryptionKey) -> None:
    first = encrypt_for(BODY, recipient.public_key())
    assert encrypt_for(BODY, recipient.public_key()) != first


def test_joserfc_token_decrypts_with_ours(recipient: EncryptionKey) -> None:
    token = _joserfc_token(recipient, {"alg": "ECDH-ES", "enc": "A256GCM", "kid": recipient.kid})
    assert decrypt_with(token, recipient) == BODY
