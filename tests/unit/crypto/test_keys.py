"""Node keys: files that leak, get overwritten or lie about their id are the attacks here."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from secureline.crypto.errors import BadSignature, KeyFileError
from secureline.crypto.keys import (
    EncryptionPublicKey,
    SigningKey,
    VerifyKey,
    generate_encryption_key,
    generate_signing_key,
    load_encryption_key,
    load_signing_key,
    save_encryption_key,
    save_signing_key,
)

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A careless umask must not widen a key file's mode."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# --- negative: files ----------------------------------------------------------------------


@pytest.mark.usefixtures("permissive_umask")
@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_key_file_is_0600(
    tmp_path: Path, signing_key: SigningKey, passphrase: bytes | None
) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, passphrase)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.usefixtures("permissive_umask")
def test_encryption_key_file_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "enc.key"
    save_encryption_key(path, generate_encryption_key("alpha"), None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refuses_to_overwrite_key(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, None)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        save_signing_key(path, generate_signing_key("alpha"), None)
    assert path.read_bytes() == before


def test_refuses_to_write_through_symlink(tmp_path: Path, signing_key: SigningKey) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "node.key"
    link.symlink_to(target)
    with pytest.raises(KeyFileError, match="already exists"):
        save_signing_key(link, signing_key, None)
    assert not target.exists()


def test_refuses_to_overwrite_encryption_key(tmp_path: Path) -> None:
    path = tmp_path / "enc.key"
    save_encryption_key(path, generate_encryption_key("alpha"), None)
    with pytest.raises(KeyFileError, match="already exists"):
        save_encryption_key(path, generate_encryption_key("alpha"), None)


def test_wrong_passphrase_is_refused(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, PASSPHRASE)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_signing_key(path, "alpha", b"guess")


def test_missing_passphrase_is_refused(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, PASSPHRASE)
    with pytest.raises(KeyFileError, match="no passphrase was given"):
        load_signing_key(path, "alpha", None)


def test_passphrase_for_plain_key_is_refused(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, None)
    with pytest.raises(KeyFileError, match="not encrypted"):
        load_signing_key(path, "alpha", PASSPHRASE)


def test_empty_passphrase_is_refused(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    with pytest.raises(KeyFileError, match="empty passphrase"):
        save_signing_key(path, signing_key, b"")
    assert not path.exists()


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        load_signing_key(tmp_path / "absent.key", "alpha", None)


def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileError, match="not a private key"):
        load_signing_key(path, "alpha", None)


def test_x25519_file_as_signing_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "enc.key"
    save_encryption_key(path, generate_encryption_key("alpha"), None)
    with pytest.raises(KeyFileError, match="not hold an Ed25519"):
        load_signing_key(path, "alpha", None)


def test_ed25519_file_as_encryption_key_is_refused(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, None)
    with pytest.raises(KeyFileError, match="not hold an X25519"):
        load_encryption_key(path, "alpha", None)


def test_encrypted_key_file_holds_no_plain_key(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, PASSPHRASE)
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


# --- negative: public keys ----------------------------------------------------------------


def test_signature_from_other_key_is_refused(
    signing_key: SigningKey, other_signing_key: SigningKey
) -> None:
    signature = other_signing_key.sign(b"data")
    with pytest.raises(BadSignature, match=re.escape(signing_key.kid)):
        signing_key.verify_key().verify(signature, b"data")


def test_signature_over_other_bytes_is_refused(signing_key: SigningKey) -> None:
    with pytest.raises(BadSignature, match="does not verify"):
        signing_key.verify_key().verify(signing_key.sign(b"data"), b"date")


@pytest.mark.parametrize("text", ["", "AAAA", "not base64!", "A" * 44, "AQ=="])
def test_bad_published_key_is_refused(text: str) -> None:
    with pytest.raises(KeyFileError, match="not an Ed25519 public key"):
        VerifyKey.from_text("x/ed25519/0", text)
    with pytest.raises(KeyFileError, match="not an X25519 public key"):
        EncryptionPublicKey.from_text("x/x25519/0", text)


# --- positive ----------------------------------------------------------------------------


def test_kid_is_bound_to_the_public_key(signing_key: SigningKey) -> None:
    raw = signing_key.private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert signing_key.kid == f"alpha/ed25519/{hashlib.sha256(raw).hexdigest()[:16]}"
    encryption = generate_encryption_key("alpha")
    assert re.fullmatch(r"alpha/x25519/[0-9a-f]{16}", encryption.kid)


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_signing_key_round_trip(
    tmp_path: Path, signing_key: SigningKey, passphrase: bytes | None
) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, passphrase)
    loaded = load_signing_key(path, "alpha", passphrase)
    assert loaded.kid == signing_key.kid
    loaded.verify_key().verify(signing_key.sign(b"data"), b"data")


def test_loaded_kid_is_recomputed_not_trusted(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "node.key"
    save_signing_key(path, signing_key, None)
    assert load_signing_key(path, "renamed", None).kid.startswith("renamed/ed25519/")


def test_encryption_key_round_trip(tmp_path: Path) -> None:
    key = generate_encryption_key("alpha")
    path = tmp_path / "enc.key"
    save_encryption_key(path, key, PASSPHRASE)
    loaded = load_encryption_key(path, "alpha", PASSPHRASE)
    assert loaded.kid == key.kid
    assert loaded.public_key().to_text() == key.public_key().to_text()


def test_public_keys_round_trip_as_text(signing_key: SigningKey) -> None:
    verify_key = signing_key.verify_key()
    text = verify_key.to_text()
    assert len(text) == 43
    parsed = VerifyKey.from_text(verify_key.kid, text)
    parsed.verify(signing_key.sign(b"data"), b"data")
    assert parsed.fingerprint() == verify_key.fingerprint()

    public = generate_encryption_key("alpha").public_key()
    assert EncryptionPublicKey.from_text(public.kid, public.to_text()).to_text() == public.to_text()


def test_fingerprint_is_colon_separated_upper_hex(signing_key: SigningKey) -> None:
    assert re.fullmatch(
        r"SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}", signing_key.verify_key().fingerprint()
    )
