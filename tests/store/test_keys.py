"""The credentials key file and the AES-GCM sealing of credentials."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from tidings.domain import Credentials
from tidings.store import (
    CredentialCipher,
    CredentialsError,
    KeyFileError,
    decode_key,
    load_or_create_key,
)


def test_key_file_is_created_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "store.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_key_file_ignores_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_key(tmp_path / "store.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "store.key").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "store.key"
    load_or_create_key(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=r"chmod 600") as info:
        load_or_create_key(path)
    assert f"{mode:04o}" in str(info.value)


def test_a_garbled_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    path.write_text("not base64 at all!\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="base64"):
        load_or_create_key(path)


def test_decode_key_from_config() -> None:
    key = bytes(range(32))
    assert decode_key(base64.b64encode(key).decode() + "\n") == key
    with pytest.raises(KeyFileError, match="32 bytes"):
        decode_key(base64.b64encode(b"short").decode())
    with pytest.raises(KeyFileError, match="base64"):
        decode_key("***")


def test_sealed_credentials_round_trip_with_fresh_nonces() -> None:
    cipher = CredentialCipher(bytes(32))
    credentials = Credentials("imap secret", "smtp secret")
    first, second = cipher.seal("g1", credentials), cipher.seal("g1", credentials)
    assert first != second  # a new nonce for every write
    assert b"imap secret" not in first
    assert cipher.open("g1", first) == credentials


def test_credentials_sealed_for_one_grant_do_not_open_for_another() -> None:
    cipher = CredentialCipher(bytes(32))
    sealed = cipher.seal("g1", Credentials("a", "b"))
    with pytest.raises(CredentialsError, match="do not decrypt"):
        cipher.open("g2", sealed)


def test_credentials_do_not_open_with_another_key() -> None:
    sealed = CredentialCipher(bytes(32)).seal("g1", Credentials("a", "b"))
    with pytest.raises(CredentialsError):
        CredentialCipher(bytes([1]) * 32).open("g1", sealed)
    with pytest.raises(CredentialsError, match="malformed"):
        CredentialCipher(bytes(32)).open("g1", b"\x07junk")


def test_secrets_never_show_in_repr() -> None:
    credentials = Credentials("imap secret", "smtp secret")
    assert "secret" not in repr(credentials)
    assert "secret" not in str(credentials)
    assert "secret" not in f"{credentials}"
    key = b"K" * 32
    assert "KKKK" not in repr(CredentialCipher(key))
