"""Byte encodings shared by keys, envelopes and certificates.

Decoding is strict on purpose: a token has exactly one valid spelling, so a relay or an
attacker cannot produce a second, differently spelled token that still verifies (which
would defeat deduplication by token hash and make logs disagree about what was sent).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from secureline.crypto.errors import MalformedToken

__all__ = ["b64url_encode", "b64url_decode", "sha256_hex", "sha256_fingerprint"]


def b64url_encode(data: bytes) -> str:
    """Encode as RFC 7515 base64url: URL-safe alphabet, no padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# For a text whose length is 2 or 3 modulo 4, the bits of its last character that carry no
# data; canonical text has them zero.
_UNUSED_BITS = {2: 0x0F, 3: 0x03}


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url, refusing any non-canonical spelling.

    Refused: padding, the standard alphabet's ``+``/``/``, whitespace or any other stray
    character (the strict decoder), and non-zero unused bits in the last character. Every
    envelope is decoded on the line's hot path, so this avoids re-encoding to compare.
    """
    try:
        raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    except UnicodeEncodeError:
        raise MalformedToken("base64url text is not ASCII") from None
    tail = len(raw) % 4
    if tail == 1:
        raise MalformedToken("base64url text has an impossible length")
    if b"=" in raw or b"+" in raw or b"/" in raw:
        raise MalformedToken("base64url text is not in canonical form")
    try:
        data = binascii.a2b_base64(
            raw.translate(_TO_STANDARD) + b"=" * (-tail % 4), strict_mode=True
        )
    except (binascii.Error, ValueError):
        raise MalformedToken("invalid base64url text") from None
    if tail and _ALPHABET.index(raw[-1]) & _UNUSED_BITS[tail]:
        raise MalformedToken("base64url text is not in canonical form")
    return data


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256: the form used in key ids and content hashes."""
    return hashlib.sha256(data).hexdigest()


def sha256_fingerprint(data: bytes) -> str:
    """``SHA256:AB:CD:...`` — the form people compare by eye when pinning a peer."""
    return "SHA256:" + hashlib.sha256(data).digest().hex(":").upper()
