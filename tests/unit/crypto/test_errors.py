"""The exception tree is part of the protocol: its codes go on the wire."""

from __future__ import annotations

import pytest

from secureline.crypto.errors import (
    CERTIFICATE_REJECTION_CODES,
    BadSignature,
    CertificateRejected,
    CryptoError,
    DecryptionFailed,
    KeyFileError,
    MalformedToken,
    UnknownKey,
)


@pytest.mark.parametrize(
    ("error_type", "code"),
    [
        (MalformedToken, "malformed_envelope"),
        (UnknownKey, "unknown_key"),
        (BadSignature, "bad_signature"),
        (DecryptionFailed, "decryption_failed"),
        (KeyFileError, "key_file"),
    ],
)
def test_each_error_has_its_stable_code(error_type: type[CryptoError], code: str) -> None:
    error = error_type("why")
    assert isinstance(error, CryptoError)
    assert error.code == code
    assert str(error) == "why"


def test_unknown_rejection_code_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown certificate rejection code"):
        CertificateRejected("certificate_expird", "typo")


@pytest.mark.parametrize("code", sorted(CERTIFICATE_REJECTION_CODES))
def test_certificate_rejection_carries_its_code(code: str) -> None:
    error = CertificateRejected(code, "why")
    assert isinstance(error, CryptoError)
    assert error.code == code
    assert str(error) == "why"
