"""The credentials key: loading it safely, and sealing credentials with it (AES-GCM)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tidings.domain import Credentials
from tidings.store.errors import CredentialsError, KeyFileError

__all__ = ["KEY_BYTES", "CredentialCipher", "decode_key", "load_or_create_key"]

KEY_BYTES: Final = 32  # AES-256
_NONCE_BYTES: Final = 12  # the 96-bit nonce GCM is specified for (NIST SP 800-38D §8.2)
_FORMAT: Final = b"\x01"  # first byte of a sealed blob, so the format can change later


def decode_key(text: str) -> bytes:
    """Decode a base64 key as written in the config file or the key file."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError("the credentials key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"the credentials key must be {KEY_BYTES} bytes, not {len(key)}")
    return key


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, a new random key) on first run.

    A key file that group or others can read is refused: whoever reads it can decrypt every
    stored password.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    try:
        os.fchmod(fd, 0o600)  # the umask can only have removed bits; be exact anyway
        os.write(fd, base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise KeyFileError(f"key file {path} is not a regular file")
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} has mode {stat.S_IMODE(mode):04o}: group or others can read it;"
            f" run `chmod 600 {path}` (and consider the key exposed)"
        )
    try:
        return decode_key(path.read_text("ascii"))
    except (UnicodeDecodeError, KeyFileError) as exc:
        raise KeyFileError(f"key file {path} does not hold a base64 {KEY_BYTES}-byte key") from exc


class CredentialCipher:
    """Seals credentials for one grant; the grant id is bound in as associated data, so a
    sealed blob copied to another grant's row does not decrypt."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise KeyFileError(f"the credentials key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "CredentialCipher(key='***')"

    def seal(self, grant_id: str, credentials: Credentials) -> bytes:
        plaintext = json.dumps(
            {"imap": credentials.imap_password, "smtp": credentials.smtp_password}
        ).encode()
        # A fresh random nonce per write: GCM must never reuse one under the same key.
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, grant_id.encode())

    def open(self, grant_id: str, blob: bytes) -> Credentials:
        if blob[:1] != _FORMAT or len(blob) < 1 + _NONCE_BYTES + 16:
            raise CredentialsError(f"stored credentials of grant {grant_id} are malformed")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            plaintext = self._aead.decrypt(nonce, sealed, grant_id.encode())
        except InvalidTag as exc:
            raise CredentialsError(
                f"credentials of grant {grant_id} do not decrypt: the key is not the one"
                " they were stored with"
            ) from exc
        fields = json.loads(plaintext)
        return Credentials(imap_password=fields["imap"], smtp_password=fields["smtp"])
