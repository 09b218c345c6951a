"""Confidential bodies: compact JWE, ECDH-ES (direct key agreement) on X25519 with A256GCM.

A body is encrypted to the destination node only; relays forward it unread, while the
signed message header stays readable because routing and policy need it. Unlike the signed
envelope this is not the hot path (only confidential bodies pay for it), so it goes
through ``joserfc`` rather than hand-rolled ECDH, Concat KDF and GCM.

Decryption accepts exactly one header shape (``alg``, ``enc``, ``kid``, ``epk``, with our
alg, enc and kid) before any key agreement is done, and every failure is reported as one
:class:`DecryptionFailed`, so the error says nothing an attacker could use as an oracle.
"""

from __future__ import annotations

import binascii

import orjson
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from secureline.crypto.encoding import b64url_decode
from secureline.crypto.errors import CryptoError, DecryptionFailed, MalformedToken
from secureline.crypto.keys import EncryptionKey, EncryptionPublicKey

__all__ = ["JWE_ALG", "JWE_ENC", "MAX_PLAINTEXT_BYTES", "encrypt_for", "decrypt_with"]

JWE_ALG = "ECDH-ES"
JWE_ENC = "A256GCM"
#: Largest body accepted. joserfc's own default (a 64 KiB ciphertext segment) is too small
#: for message bodies; the line's transaction byte limit is the real bound.
MAX_PLAINTEXT_BYTES = 12 * 1024 * 1024
_MAX_CIPHERTEXT_CHARS = MAX_PLAINTEXT_BYTES * 4 // 3  # GCM adds no length; base64 adds 4/3
_HEADER_MEMBERS = frozenset({"alg", "enc", "kid", "epk"})


def _registry() -> jwe.JWERegistry:
    # Built per call (cheap) rather than shared: no module-level mutable state.
    registry = jwe.JWERegistry(algorithms=[JWE_ALG, JWE_ENC])
    registry.max_ciphertext_length = _MAX_CIPHERTEXT_CHARS
    return registry


def encrypt_for(plaintext: bytes, recipient: EncryptionPublicKey) -> str:
    """Encrypt to the destination node; the ephemeral key makes every token unlinkable."""
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        # The receiver would refuse it; fail at the sender, where the bug is.
        raise ValueError(f"plaintext of {len(plaintext)} bytes exceeds the JWE size limit")
    header = {"alg": JWE_ALG, "enc": JWE_ENC, "kid": recipient.kid}
    # No warning filter is needed: joserfc 1.8 raises no SecurityWarning for ECDH-ES, A256GCM
    # or OKP keys (checked under -W error); should a future version start to, the test suite
    # (warnings are errors) will say so rather than have it silenced here.
    try:
        return jwe.encrypt_compact(
            header, plaintext, OKPKey.import_key(recipient.public), registry=_registry()
        )
    except JoseError as exc:
        raise CryptoError(f"JWE encryption failed: {exc}") from None


def _check_header(token: str, key: EncryptionKey) -> None:
    header_b64 = token.split(".", 1)[0]
    try:
        header = orjson.loads(b64url_decode(header_b64))
    except (MalformedToken, orjson.JSONDecodeError):
        raise DecryptionFailed("JWE header is not base64url JSON") from None
    if not isinstance(header, dict) or header.keys() != _HEADER_MEMBERS:
        raise DecryptionFailed("JWE header is not of the accepted shape")
    if header["alg"] != JWE_ALG or header["enc"] != JWE_ENC:
        raise DecryptionFailed(f"JWE must use {JWE_ALG}/{JWE_ENC}")
    if header["kid"] != key.kid:
        raise DecryptionFailed(f"JWE is for key {header['kid']!r}, not {key.kid!r}")


def decrypt_with(token: str, key: EncryptionKey) -> bytes:
    """Open a body addressed to us; anything wrong is the same DecryptionFailed."""
    _check_header(token, key)
    try:
        result = jwe.decrypt_compact(token, OKPKey.import_key(key.private), registry=_registry())
    except (JoseError, ValueError, TypeError, KeyError, binascii.Error):
        # Library internals raise several types for malformed input; all mean "refused".
        raise DecryptionFailed("JWE cannot be decrypted with this key") from None
    plaintext = result.plaintext
    if plaintext is None:
        raise DecryptionFailed("JWE has no plaintext")
    return bytes(plaintext)
