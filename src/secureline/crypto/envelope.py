"""Signed envelopes: JWS compact serialization (RFC 7515) with EdDSA over Ed25519.

This is the line's hot path (thousands of envelopes per second per core, and the Ed25519
verification is the ceiling), so it is written straight on ``cryptography`` and ``orjson``
rather than through a general JOSE library: no key objects are converted, no JSON is
re-parsed for a header already seen, and the encoded header is built once per (kid, typ).
The format stays plain RFC 7515, so any JOSE library can verify our envelopes (the tests
prove it with ``joserfc``).

Verification accepts exactly one shape of header, ``{"alg": "EdDSA", "kid": ..., "typ":
...}``: no ``alg`` other than EdDSA (guards ``alg: none`` and algorithm confusion), no
``crit`` and no other members (``b64: false``, ``jku``, ``jwk``, ``x5u`` ... would each
change what is verified or which key is trusted), so there is nothing to get wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import NamedTuple

import orjson

from secureline.crypto.encoding import b64url_decode, b64url_encode_bytes
from secureline.crypto.errors import MalformedToken, UnknownKey
from secureline.crypto.keys import SigningKey, VerifyKey

__all__ = ["JWS_TYPE", "VerifiedEnvelope", "sign_envelope", "peek_kid", "verify_envelope"]

JWS_TYPE = "secureline-envelope+jws"
_ALG = "EdDSA"
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})
#: Our headers encode to ~120 characters; a long one is refused before any work, which also
#: bounds what the header cache below can hold (its size times this).
_MAX_HEADER_CHARS = 1024
_HEADER_CACHE_SIZE = 1024


class VerifiedEnvelope(NamedTuple):
    """What a verified token proves: these payload bytes were signed by the key ``kid``."""

    kid: str
    typ: str
    payload: bytes


@functools.lru_cache(maxsize=_HEADER_CACHE_SIZE)
def _encoded_header(kid: str, typ: str) -> bytes:
    # A node signs with one or two keys and a handful of types: the header is a constant.
    return b64url_encode_bytes(orjson.dumps({"alg": _ALG, "kid": kid, "typ": typ}))


def sign_envelope(payload: bytes, key: SigningKey, typ: str = JWS_TYPE) -> str:
    """Sign the exact payload bytes; ``typ`` keeps an envelope from passing as evidence."""
    signing_input = _encoded_header(key.kid, typ) + b"." + b64url_encode_bytes(payload)
    signature = b64url_encode_bytes(key.private.sign(signing_input))
    return (signing_input + b"." + signature).decode("ascii")


@functools.lru_cache(maxsize=_HEADER_CACHE_SIZE)
def _parse_header(header_b64: bytes) -> tuple[str, str]:
    """Decode and vet a header once; every envelope from one sender repeats the same bytes.

    Only successful parses are cached (an exception is never memoised), and the input is
    bounded by ``_MAX_HEADER_CHARS``, so hostile headers can neither poison nor bloat it.
    """
    try:
        header = orjson.loads(b64url_decode(header_b64))
    except orjson.JSONDecodeError:
        raise MalformedToken("protected header is not JSON") from None
    if not isinstance(header, dict):
        raise MalformedToken("protected header is not a JSON object")
    if "crit" in header:
        raise MalformedToken("protected header carries 'crit'; no extensions are understood")
    if header.get("alg") != _ALG:
        raise MalformedToken(f"alg must be {_ALG!r}, got {header.get('alg')!r}")
    extra = header.keys() - _HEADER_MEMBERS
    if extra:
        raise MalformedToken(f"protected header has unexpected members {sorted(extra)}")
    kid = header.get("kid")
    typ = header.get("typ")
    if not isinstance(kid, str) or not kid:
        raise MalformedToken("protected header has no kid")
    if not isinstance(typ, str):
        raise MalformedToken("protected header has no typ")
    return kid, typ


def _split(token: str) -> tuple[bytes, bytes, bytes, bytes]:
    # Tokens come from peers' JSON: a number, list or object in a token's place is refused
    # here as malformed, not met later as an AttributeError.
    if not isinstance(token, str):
        raise MalformedToken(f"token must be a string, not {type(token).__name__}")
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedToken("token is not ASCII") from None
    parts = raw.split(b".")
    if len(parts) != 3:
        raise MalformedToken(f"token has {len(parts)} parts, expected 3")
    header_b64, payload_b64, signature_b64 = parts
    if len(header_b64) > _MAX_HEADER_CHARS:
        raise MalformedToken("protected header is too long")
    return raw, header_b64, payload_b64, signature_b64


def peek_kid(token: str) -> str:
    """Name the signing key WITHOUT verifying, to pick the key (or route); trust nothing else."""
    _, header_b64, _, _ = _split(token)
    kid, _ = _parse_header(header_b64)
    return kid


def verify_envelope(
    token: str, keys: Mapping[str, VerifyKey], typ: str = JWS_TYPE
) -> VerifiedEnvelope:
    """Verify a token against the keys we trust for its sender and return the signed bytes.

    Steps, each failing with one error:

    1. exactly three dot-separated parts                        -> MalformedToken
    2. the protected header decodes to a JSON object            -> MalformedToken
    3. ``alg`` is exactly EdDSA; no ``crit``, no other members  -> MalformedToken
    4. ``typ`` is the type the caller expects                   -> MalformedToken
    5. ``kid`` is one of ``keys`` (and that key says so)        -> UnknownKey
    6. the signature verifies over ``header.payload``           -> BadSignature
    7. the payload decodes                                      -> MalformedToken
    """
    raw, header_b64, payload_b64, signature_b64 = _split(token)  # 1
    kid, token_typ = _parse_header(header_b64)  # 2, 3
    if token_typ != typ:  # 4
        raise MalformedToken(f"typ must be {typ!r}, got {token_typ!r}")
    key = keys.get(kid)  # 5
    if key is None or key.kid != kid:
        raise UnknownKey(f"no trusted key with kid {kid!r}")
    signature = b64url_decode(signature_b64)  # 6
    key.verify(signature, raw[: len(header_b64) + 1 + len(payload_b64)])
    return VerifiedEnvelope(kid=kid, typ=token_typ, payload=b64url_decode(payload_b64))  # 7
