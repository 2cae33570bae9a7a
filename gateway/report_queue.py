"""Reports that could not be delivered yet, kept encrypted at rest until the server has them.

Each entry is one file `<id>.report` = nonce (12) || AES-256-GCM(JSON entry),
with the entry id as associated data (a file renamed to another id does not
decrypt). The key sits in `queue.key`, mode 0600, next to the entries. Files
are written atomically (temp file, fsync, rename): a power cut leaves the old
entry or the new one, never half of one. An entry is deleted once delivered
and acknowledged; its contact data is dropped as soon as the server has it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import KioskError

KEY_FILE = "queue.key"
SUFFIX = ".report"

# Entry states: the report's life in the queue (docs/kiosk.md, "Queue states").
PENDING = "pending"  # not delivered; safe to post (never sent, or provably not received)
SENDING = "sending"  # written just before the POST: found at a restart, it means in doubt
IN_DOUBT = "in_doubt"  # posted, but the answer was lost: the server may have it
DELIVERED = "delivered"  # the server accepted it; the token still needs HISTORY_ACK
REFUSED = "refused"  # never received, then the code was refused (expired while queued)
DOUBT = "doubt"  # in doubt, then the code was refused: used by the lost attempt, or expired
NEEDS_NEW_CODE = (REFUSED, DOUBT)  # kept and shown until sent again with a new code
TO_SEND = (PENDING, SENDING, IN_DOUBT)


def code_tag(entry_id: str, code: str) -> str:
    """What a delivered entry keeps of its code: enough to recognise the same report typed
    again (the code itself is dropped with the contacts)."""
    return hashlib.sha256(f"{entry_id}:{code}".encode()).hexdigest()[:32]


def same_code(entry: dict, entry_id: str, code: str) -> bool:
    if entry.get("code") is not None:
        return entry["code"] == code
    return entry.get("code_tag") == code_tag(entry_id, code)


def describe(entry: dict) -> str:
    """The sentence the pharmacist sees for an entry that needs a person."""
    reason = entry.get("reason") or "the code was refused"
    if entry.get("state") == DOUBT:
        return ("In doubt: the report may or may not have reached the server (an earlier "
                f"attempt's answer was lost, and now {reason[:1].lower() + reason[1:]}). Ask "
                "the holder for a new code and send again.")
    if entry.get("state") == REFUSED:
        return (f"Not delivered: {reason} Ask the holder for a new code and send again; "
                "the token still holds its history.")
    return {PENDING: "Waiting to be sent.", SENDING: "In doubt: being sent, or cut off while "
            "sent; it is sent again (at most once more) by the next retry.",
            IN_DOUBT: "In doubt: sent, but the server's answer was lost; the next retry asks "
            "again (the code can be used once only).",
            DELIVERED: "Delivered; the token still needs to be told (plug it in and press "
            "Retry)."}.get(entry.get("state"), "Unknown state.")


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

    def summaries(self) -> list[dict]:
        """What the page lists: no code, no contact data."""
        out = []
        for entry_id in self.ids():
            try:
                e = self.load(entry_id)
            except (QueueError, ValueError, OSError) as exc:
                out.append({"id": entry_id, "state": "damaged", "serial": None,
                            "text": getattr(exc, "message", "damaged entry")})
                continue
            if "answer" in e:  # a kept status answer, not a report
                continue
            contacts = e.get("contacts") or []
            out.append({"id": entry_id, "serial": e.get("serial"), "state": e.get("state"),
                        "contacts": e.get("n_contacts", len(contacts)), "created": e.get("created"),
                        "delivered_at": e.get("delivered_at"), "text": describe(e)})
        return out

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
