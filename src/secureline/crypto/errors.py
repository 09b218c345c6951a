"""The one exception tree of the crypto layer.

Every failure the crypto layer reports is a :class:`CryptoError`; no exception from
``cryptography``, ``joserfc``, ``orjson`` or ``ssl`` leaves this package raw. Callers in
the line and the API map ``code`` straight onto their typed wire errors, so the codes are
stable and part of the protocol; the messages are for logs and people.

::

    CryptoError                 "crypto_error"   (base; only raised for internal faults)
    ├── MalformedToken          "malformed_envelope"
    ├── UnknownKey              "unknown_key"
    ├── BadSignature            "bad_signature"
    ├── DecryptionFailed        "decryption_failed"
    ├── KeyFileError            "key_file"
    └── CertificateRejected     one of CERTIFICATE_REJECTION_CODES, set per instance
"""

from __future__ import annotations

from secureline.errors import Refusal

__all__ = [
    "CryptoError",
    "MalformedToken",
    "UnknownKey",
    "BadSignature",
    "DecryptionFailed",
    "KeyFileError",
    "CertificateRejected",
    "CERTIFICATE_REJECTION_CODES",
]

#: Why a peer certificate may be refused; each step of ``check_peer_certificate`` has one.
CERTIFICATE_REJECTION_CODES = frozenset(
    {
        "malformed_certificate",
        "not_issued_by_pinned_ca",
        "certificate_expired",
        "certificate_not_yet_valid",
        "no_node_name",
        "wrong_node",
    }
)


class CryptoError(Refusal):
    """Base of the tree, so a boundary can catch the whole layer with one clause (under the
    project tree's ``Refusal``: each code is a reason to refuse what a peer sent)."""

    code: str = "crypto_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class MalformedToken(CryptoError):
    """The token cannot be parsed, or its header asks for something we never accept."""

    code = "malformed_envelope"


class UnknownKey(CryptoError):
    """The token names a key we do not hold; the sender may be unknown or rotated out."""

    code = "unknown_key"


class BadSignature(CryptoError):
    """The signature does not verify: the bytes were altered or signed by someone else."""

    code = "bad_signature"


class DecryptionFailed(CryptoError):
    """Deliberately one error for every JWE failure, so it leaks nothing to an attacker."""

    code = "decryption_failed"


class KeyFileError(CryptoError):
    """A key file is missing, unreadable, of the wrong type, or its passphrase is wrong."""

    code = "key_file"


class CertificateRejected(CryptoError):
    """A peer certificate failed one verification step; ``code`` names the step."""

    def __init__(self, code: str, message: str) -> None:
        if code not in CERTIFICATE_REJECTION_CODES:
            # A typo here would silently create a new wire code; refuse it at the source.
            raise ValueError(f"unknown certificate rejection code {code!r}")
        super().__init__(message)
        self.code = code
