"""Base64url must have exactly one spelling per value, or tokens become malleable."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secureline.crypto.encoding import (
    b64url_decode,
    b64url_encode,
    sha256_fingerprint,
    sha256_hex,
)
from secureline.crypto.errors import MalformedToken


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("AQ==", "padding"),
        ("A", "impossible length"),
        ("AR", "non-zero trailing bits"),
        ("+/8", "standard alphabet"),
        ("AQ\n", "whitespace"),
        ("A Q", "space"),
        ("AQ!", "stray character"),
        ("AQé", "non-ASCII"),
    ],
)
def test_noncanonical_base64url_is_refused(text: str, reason: str) -> None:
    with pytest.raises(MalformedToken, match="base64url"):
        b64url_decode(text)


def test_bytes_input_is_accepted() -> None:
    assert b64url_decode(b"AQ") == b"\x01"


@given(st.binary(max_size=300))
def test_round_trip_without_padding(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64url_decode(text) == data


def test_sha256_forms() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert sha256_hex(b"x") == digest.hex()
    fingerprint = sha256_fingerprint(b"x")
    assert fingerprint.startswith("SHA256:")
    assert fingerprint.removeprefix("SHA256:").split(":") == [f"{b:02X}" for b in digest]


@given(st.text(alphabet="ABCDQRwxyz0189-_+/= \n", max_size=14))
def test_only_the_canonical_spelling_decodes(text: str) -> None:
    try:
        data = b64url_decode(text)
    except MalformedToken:
        return
    assert b64url_encode(data) == text
