"""Byte encodings shared by keys, envelopes and certificates.

Decoding is strict on purpose: a token has exactly one valid spelling, so a relay or an
attacker cannot produce a second, differently spelled token that still verifies (which
would defeat deduplication by token hash and make logs disagree about what was sent).
"""

from __future__ import annotations

import binascii
import hashlib

# SIMD base64: every envelope is encoded once and decoded at every node, and the standard
# library's codec costs about ten times as much on a 3 KiB payload.
import pybase64

from secureline.crypto.errors import MalformedToken

__all__ = [
    "b64url_encode",
    "b64url_encode_bytes",
    "b64url_decode",
    "sha256_hex",
    "sha256_fingerprint",
]

_URL_ALTCHARS = b"-_"


def b64url_encode_bytes(data: bytes) -> bytes:
    """Encode as RFC 7515 base64url: URL-safe alphabet, no padding."""
    return pybase64.b64encode(data, altchars=_URL_ALTCHARS).rstrip(b"=")


def b64url_encode(data: bytes) -> str:
    """:func:`b64url_encode_bytes` as text."""
    return b64url_encode_bytes(data).decode("ascii")


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# For a text whose length is 2 or 3 modulo 4, the bits of its last character that carry no
# data; canonical text has them zero.
_UNUSED_BITS = {2: 0x0F, 3: 0x03}


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url, refusing any non-canonical spelling.

    Refused: padding, the standard alphabet's ``+``/``/`` (checked first: the decoder maps
    ``-_`` onto them), whitespace or any other stray character (the validating decoder), and
    non-zero unused bits in the last character. Every envelope is decoded on the line's hot
    path, so this avoids re-encoding to compare.
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
        data = pybase64.b64decode(raw + b"=" * (-tail % 4), altchars=_URL_ALTCHARS, validate=True)
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
