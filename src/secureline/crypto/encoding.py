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


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url, refusing any non-canonical spelling.

    The round-trip check rejects padding, ``+``/``/``, whitespace, stray characters and
    non-zero trailing bits in one comparison, which is cheaper than checking each.
    """
    try:
        raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    except UnicodeEncodeError:
        raise MalformedToken("base64url text is not ASCII") from None
    if len(raw) % 4 == 1:
        raise MalformedToken("base64url text has an impossible length")
    try:
        data = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken("invalid base64url text") from None
    if base64.urlsafe_b64encode(data).rstrip(b"=") != raw:
        raise MalformedToken("base64url text is not in canonical form")
    return data


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256: the form used in key ids and content hashes."""
    return hashlib.sha256(data).hexdigest()


def sha256_fingerprint(data: bytes) -> str:
    """``SHA256:AB:CD:...`` — the form people compare by eye when pinning a peer."""
    return "SHA256:" + hashlib.sha256(data).digest().hex(":").upper()
