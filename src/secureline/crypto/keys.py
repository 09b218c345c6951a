"""A node's long-lived keys: Ed25519 to sign envelopes, X25519 to receive confidential bodies.

A key id (``kid``) is derived from the public key itself (``node/alg/16 hex of its
SHA-256``), so a kid can never silently point at a different key after a rotation, and a
loaded key needs no side file to know its own name.

Private keys live in PKCS#8 PEM files, encrypted when a passphrase is given. Files are
created with mode 0600 in the same system call that creates them (no window in which they
are readable by others) and are never overwritten: replacing a node key is a rotation, a
deliberate act, not a side effect of re-running set-up.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)

from secureline.crypto.encoding import (
    b64url_decode,
    b64url_encode,
    sha256_fingerprint,
    sha256_hex,
)
from secureline.crypto.errors import BadSignature, KeyFileError, MalformedToken

__all__ = [
    "VerifyKey",
    "SigningKey",
    "generate_signing_key",
    "save_signing_key",
    "load_signing_key",
    "EncryptionPublicKey",
    "EncryptionKey",
    "generate_encryption_key",
    "save_encryption_key",
    "load_encryption_key",
    "write_new_secret_file",
    "read_private_key",
]

_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw
_PRIVATE_FILE_MODE = 0o600


def _raw_public(public: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return public.public_bytes(_RAW, _RAW_PUBLIC)


def _kid(node: str, algorithm: str, raw_public: bytes) -> str:
    return f"{node}/{algorithm}/{sha256_hex(raw_public)[:16]}"


# --- Ed25519: signing ---------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyKey:
    """An Ed25519 public key with its kid: what a node publishes so peers can verify it."""

    kid: str
    public: Ed25519PublicKey

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise :class:`BadSignature` so callers never see ``cryptography``'s exception."""
        try:
            self.public.verify(signature, data)
        except InvalidSignature:
            raise BadSignature(f"signature does not verify with key {self.kid}") from None

    def to_text(self) -> str:
        """Base64url of the raw 32 bytes: short enough for config files and the desk."""
        return b64url_encode(_raw_public(self.public))

    @classmethod
    def from_text(cls, kid: str, text: str) -> Self:
        """Parse a key a peer published; a bad key is a configuration (key file) problem."""
        try:
            raw = b64url_decode(text)
            public = Ed25519PublicKey.from_public_bytes(raw)
        except (MalformedToken, ValueError) as exc:
            raise KeyFileError(f"not an Ed25519 public key for {kid}: {exc}") from None
        return cls(kid=kid, public=public)

    def fingerprint(self) -> str:
        """Human-comparable form for out-of-band checks when pinning a peer."""
        return sha256_fingerprint(_raw_public(self.public))


@dataclass(frozen=True)
class SigningKey:
    """A node's Ed25519 private key; envelopes and evidence are signed with it."""

    kid: str
    private: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        """Sign exact bytes: the protocol signs wire bytes, so nothing is canonicalised."""
        return self.private.sign(data)

    def verify_key(self) -> VerifyKey:
        """The public half under the same kid, to publish or to verify our own output."""
        return VerifyKey(kid=self.kid, public=self.private.public_key())


def generate_signing_key(node: str) -> SigningKey:
    """Create a fresh key whose kid is bound to its public bytes."""
    private = Ed25519PrivateKey.generate()
    kid = _kid(node, "ed25519", _raw_public(private.public_key()))
    return SigningKey(kid=kid, private=private)


def save_signing_key(path: Path, key: SigningKey, passphrase: bytes | None) -> None:
    """Persist the key 0600, refusing to replace an existing key (see module docstring)."""
    write_new_secret_file(path, _private_pem(key.private, passphrase))


def load_signing_key(path: Path, node: str, passphrase: bytes | None) -> SigningKey:
    """Load and recompute the kid, so a renamed or swapped file cannot lie about its id."""
    private = read_private_key(path, passphrase)
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path} does not hold an Ed25519 private key")
    kid = _kid(node, "ed25519", _raw_public(private.public_key()))
    return SigningKey(kid=kid, private=private)


# --- X25519: confidential bodies ----------------------------------------------------------


@dataclass(frozen=True)
class EncryptionPublicKey:
    """A destination node's X25519 public key: confidential bodies are encrypted to it."""

    kid: str
    public: X25519PublicKey

    def to_text(self) -> str:
        """Base64url of the raw 32 bytes, as for :class:`VerifyKey`."""
        return b64url_encode(_raw_public(self.public))

    @classmethod
    def from_text(cls, kid: str, text: str) -> Self:
        """Parse a key a peer published; a bad key is a configuration (key file) problem."""
        try:
            raw = b64url_decode(text)
            public = X25519PublicKey.from_public_bytes(raw)
        except (MalformedToken, ValueError) as exc:
            raise KeyFileError(f"not an X25519 public key for {kid}: {exc}") from None
        return cls(kid=kid, public=public)


@dataclass(frozen=True)
class EncryptionKey:
    """A node's X25519 private key; only the destination can open a confidential body."""

    kid: str
    private: X25519PrivateKey

    def public_key(self) -> EncryptionPublicKey:
        """The public half under the same kid, to publish to peers."""
        return EncryptionPublicKey(kid=self.kid, public=self.private.public_key())


def generate_encryption_key(node: str) -> EncryptionKey:
    """Create a fresh key whose kid is bound to its public bytes."""
    private = X25519PrivateKey.generate()
    return EncryptionKey(
        kid=_kid(node, "x25519", _raw_public(private.public_key())), private=private
    )


def save_encryption_key(path: Path, key: EncryptionKey, passphrase: bytes | None) -> None:
    """Persist the key 0600, refusing to replace an existing key (see module docstring)."""
    write_new_secret_file(path, _private_pem(key.private, passphrase))


def load_encryption_key(path: Path, node: str, passphrase: bytes | None) -> EncryptionKey:
    """Load and recompute the kid, so a renamed or swapped file cannot lie about its id."""
    private = read_private_key(path, passphrase)
    if not isinstance(private, X25519PrivateKey):
        raise KeyFileError(f"{path} does not hold an X25519 private key")
    return EncryptionKey(
        kid=_kid(node, "x25519", _raw_public(private.public_key())), private=private
    )


# --- Files (shared with pki) --------------------------------------------------------------


def _private_pem(private: PrivateKeyTypes, passphrase: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption
    if passphrase is None:
        encryption = serialization.NoEncryption()
    elif not passphrase:
        # An empty passphrase would look protected while protecting nothing.
        raise KeyFileError("an empty passphrase is not allowed; pass None for no passphrase")
    else:
        encryption = serialization.BestAvailableEncryption(passphrase)
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def write_new_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``data``; never replace an existing file.

    ``O_CREAT | O_EXCL`` makes "does it exist" and "create it 0600" one atomic step, so
    there is neither a race that overwrites a key nor a moment the file is world-readable.
    A failed write removes the partial file, so a half-written key never survives.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, _PRIVATE_FILE_MODE)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from None
    try:
        # The umask can only narrow the mode; set it exactly so the result does not depend on it.
        os.fchmod(fd, _PRIVATE_FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise KeyFileError(f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)


def read_private_key(path: Path, passphrase: bytes | None) -> PrivateKeyTypes:
    """Read a PEM private key, turning every failure into :class:`KeyFileError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        # cryptography says TypeError when a passphrase is missing or was not expected.
        if passphrase is None:
            raise KeyFileError(f"{path} is encrypted and no passphrase was given") from None
        raise KeyFileError(f"{path} is not encrypted but a passphrase was given") from None
    except (ValueError, UnsupportedAlgorithm):
        # One message for "wrong passphrase" and "not a key": cryptography cannot tell them
        # apart reliably for encrypted PKCS#8.
        raise KeyFileError(f"cannot load {path}: wrong passphrase or not a private key") from None
