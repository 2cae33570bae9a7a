"""Reports that could not be delivered yet, kept encrypted at rest until the server has them.

Each entry is one file `<id>.report` = nonce (12) || AES-256-GCM(JSON entry),
with the entry id as associated data (a file renamed to another id does not
decrypt). The key sits in `queue.key`, mode 0600, next to the entries. Files
are written atomically (temp file, fsync, rename): a power cut leaves the old
entry or the new one, never half of one. An entry is deleted once delivered
and acknowledged; its contact data is dropped as soon as the server has it.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import KioskError

KEY_FILE = "queue.key"
SUFFIX = ".report"

# Entry states: the report's life in the queue.
PENDING = "pending"  # not delivered; safe to post
IN_DOUBT = "in_doubt"  # posted, but the answer was lost: the server may have it
DELIVERED = "delivered"  # the server accepted it; the token still needs HISTORY_ACK


def default_dir() -> Path:
    base = os.environ.get("ROBERT_KIOSK_QUEUE")
    if base:
        return Path(base)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "robert-kiosk" / "queue"


class QueueError(KioskError):
    """The queue folder or one of its files cannot be used."""


class ReportQueue:
    """A folder of encrypted pending reports."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_dir()
        self._aead: AESGCM | None = None

    def __repr__(self) -> str:  # never show the key
        return f"ReportQueue({str(self.directory)!r})"

    def add(self, entry: dict) -> str:
        entry_id = secrets.token_hex(8)
        self.save(entry_id, entry)
        return entry_id

    def save(self, entry_id: str, entry: dict) -> None:
        nonce = secrets.token_bytes(12)
        blob = nonce + self._key().encrypt(nonce, json.dumps(entry).encode(), entry_id.encode())
        self._write_atomic(self.directory / (entry_id + SUFFIX), blob)

    def load(self, entry_id: str) -> dict:
        path = self.directory / (entry_id + SUFFIX)
        blob = path.read_bytes()
        try:
            plain = self._key().decrypt(blob[:12], blob[12:], entry_id.encode())
        except (InvalidTag, ValueError):
            raise QueueError(f"Queued report {entry_id} cannot be decrypted (damaged file or "
                             "wrong key). It is left in place for support.") from None
        return json.loads(plain)

    def ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        files = sorted(self.directory.glob("*" + SUFFIX), key=lambda p: p.stat().st_mtime)
        return [p.name[: -len(SUFFIX)] for p in files]

    def entries(self) -> list[tuple[str, dict]]:
        return [(i, self.load(i)) for i in self.ids()]

    def remove(self, entry_id: str) -> None:
        path = self.directory / (entry_id + SUFFIX)
        if path.exists():
            path.unlink()
            _fsync_dir(self.directory)

    def __len__(self) -> int:
        return len(self.ids())

    def _key(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self._load_or_create_key())
        return self._aead

    def _load_or_create_key(self) -> bytes:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise QueueError(f"The report queue folder {self.directory} cannot be created "
                             f"({exc.strerror}).") from None
        path = self.directory / KEY_FILE
        if path.exists():
            if path.stat().st_mode & 0o077:
                raise QueueError(f"The queue key {path} is readable by other users; "
                                 "fix with: chmod 600 " + str(path))
            key = path.read_bytes()
            if len(key) != 32:
                raise QueueError(f"The queue key {path} is damaged.")
            return key
        key = AESGCM.generate_key(bit_length=256)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(self.directory)
        return key

    def _write_atomic(self, path: Path, blob: bytes) -> None:
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
