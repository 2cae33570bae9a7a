"""The key-encryption key: every secret in the database is sealed under it.

The KEK lives in its own file next to the database (`<db>.kek`, mode 0600),
so a copy of the database alone reveals no K_A, K_S, K_G or private key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEK_SIZE = 32
NONCE_SIZE = 12


class KekError(Exception):
    """The KEK file is missing, malformed, or does not open the database's secrets."""


def kek_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".kek")


def load_or_create(path: Path) -> Kek:
    """Read the KEK file, creating it (0600, exclusive) on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) != KEK_SIZE:
            raise KekError(f"key-encryption key file {path} is damaged (wrong size)") from None
        return Kek(data)
    key = os.urandom(KEK_SIZE)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return Kek(key)


class Kek:
    """AES-256-GCM sealing bound to a label (so a sealed K_A cannot pass for a K_S)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "Kek(<hidden>)"

    def seal(self, label: bytes, secret: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, secret, label)

    def open(self, label: bytes, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], label)
        except (InvalidTag, ValueError):
            raise KekError("a stored secret does not open with this key-encryption key "
                           "(wrong .kek file for this database?)") from None
