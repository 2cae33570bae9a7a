"""The kiosk side of the token sync protocol (docs/sync-protocol.md), over any `Link`.

Requests carry a sequence number; an answer lost on the way is recovered by
repeating the request with the same number (every command is safe to
repeat). Bulk transfers go by offset, so a transfer cut by a pulled cable
resumes where it stopped once the token is back.
"""

from __future__ import annotations

import binascii
import json
import secrets
import struct
import time
from collections.abc import Callable

from robert_token import frame

from gateway.errors import LinkLost, TokenError
from gateway.link import Link

CHUNK = frame.MAX_PAYLOAD - 4  # a BUNDLE_WRITE carries its offset
READ_CHUNK = frame.MAX_PAYLOAD - 1  # an answer carries its status byte
SLOW_ANSWER_S = 10.0  # commands whose answer may take a device a while
COMMIT_BYTES_PER_S = 4096  # a slow token's bundle check rate, for the commit's answer timeout

# What each token status means for the pharmacist (the token's own message is kept for support).
_PLAIN = {
    frame.UNSUPPORTED_VERSION: "The token speaks another protocol version. Update the kiosk software.",
    frame.UNKNOWN_COMMAND: "The token does not know this command. Update the token or the kiosk software.",
    frame.BAD_PAYLOAD: "The token refused the request as malformed.",
    frame.NOT_PROVISIONED: "This token is not provisioned. Send it to the provisioning station.",
    frame.ALREADY_PROVISIONED: "This token is already provisioned. A factory reset is needed first.",
    frame.CLOCK_NOT_SET: "The token's clock is not set. Run a status check to set it.",
    frame.NO_TUPLE: "The token has no tuples for now (sync needed). Run a status check.",
    frame.AUTH_FAILED: "The new tuples bundle did not authenticate on the token; it keeps its "
                       "old tuples. Retry the status check.",
    frame.BAD_STATE: "The token was not ready for this step. Retry the operation from the start.",
    frame.STORAGE: "The token's memory could not be written. Retry; if it happens again, replace the token.",
    frame.DENIED: "The token refused: confirmation missing.",
}

ProgressBytes = Callable[[int, int], None]


class TokenClient:
    """Request/response client of one token."""

    def __init__(self, link: Link, timeout: float = 2.0, retries: int = 3) -> None:
        self.link = link
        self.timeout = timeout
        self.retries = retries
        self._seq = secrets.randbelow(0x10000)
        self._decoder = frame.Decoder()
        self._unmatched_error: bytes | None = None

    # ------------------------------------------------------------ commands

    async def info(self) -> dict:
        return await self._json(frame.INFO)

    async def set_time(self, ntp: int, confirm: bool = False) -> dict:
        """`confirm` lets a jump of more than a day ahead take effect (the token refuses it
        with DENIED otherwise: it would purge its history)."""
        body = {"ntp": int(ntp), "confirm": True} if confirm else {"ntp": int(ntp)}
        return await self._json(frame.SET_TIME, body)

    async def auth_request(self, kind: str) -> dict:
        return await self._json(frame.AUTH_REQUEST, {"kind": kind})

    async def store_status(self, risk_level: int, last_contact: int | None,
                           last_scoring: int | None) -> None:
        await self.request(frame.STORE_STATUS, _dumps({"riskLevel": int(risk_level),
                                                 "lastContactDate": last_contact,
                                                 "lastRiskScoringDate": last_scoring}))

    async def write_bundle(self, blob: bytes, progress: ProgressBytes | None = None) -> dict:
        """Stage the blob by offset, then commit (the token authenticates it with K_A_tuples)."""
        offset = 0
        while offset < len(blob):
            piece = blob[offset:offset + CHUNK]
            await self.request(frame.BUNDLE_WRITE, struct.pack(">I", offset) + piece)
            offset += len(piece)
            if progress:
                progress(offset, len(blob))
        commit = struct.pack(">II", len(blob), binascii.crc32(blob) & 0xFFFFFFFF)
        # The token decrypts and authenticates the whole blob from flash before it answers:
        # seconds per 100 KB on a microcontroller running GCM in Python.
        wait = max(self.timeout, 10.0 + len(blob) / COMMIT_BYTES_PER_S)
        return _loads(await self.request(frame.BUNDLE_COMMIT, commit, timeout=wait))

    async def open_history(self, start_ntp: int, end_ntp: int | None = None) -> dict:
        # A snapshot scan can be slow on a device; a repeated OPEN would replace the session
        # the first answer names, so wait longer before repeating this one.
        payload = _dumps({"from": int(start_ntp), "to": end_ntp})
        session = _loads(await self.request(frame.HISTORY_OPEN, payload,
                                            timeout=max(self.timeout, SLOW_ANSWER_S)))
        session["data"] = bytearray()
        return session

    async def read_history(self, session: dict, progress: ProgressBytes | None = None) -> bytes:
        """Read the session's stream; call again (with a new client) after LinkLost to resume."""
        data: bytearray = session.setdefault("data", bytearray())
        size = int(session["size"])
        while len(data) < size:
            head = struct.pack(">IIH", int(session["session"]), len(data),
                               min(READ_CHUNK, size - len(data)))
            piece = await self.request(frame.HISTORY_READ, head)
            if not piece:
                raise TokenError("The token's history ended early. Retry the report.", 0)
            data += piece
            if progress:
                progress(len(data), size)
        return bytes(data[:size])

    async def ack_history(self, session_id: int) -> dict:
        return await self._json(frame.HISTORY_ACK, {"session": int(session_id)})

    async def erase_history(self) -> dict:
        return await self._json(frame.ERASE_HISTORY, {"confirm": "ERASE"})

    async def provision(self, k_mac: bytes, k_tuples: bytes, id_a: bytes | None,
                        settings: dict) -> dict:
        if len(k_mac) != 32 or len(k_tuples) != 32 or (id_a is not None and len(id_a) != 5):
            raise ValueError("K_A_mac and K_A_tuples must be 32 bytes, ID_A 5 bytes")
        payload = (bytes(k_mac) + bytes(k_tuples) + (b"\x01" + bytes(id_a) if id_a else bytes(6))
                   + _dumps(settings))
        return _loads(await self.request(frame.PROVISION, payload))

    async def factory_reset(self) -> None:
        """RESET_ARM then RESET_CONFIRM with its nonce; once more if a repeated ARM re-armed."""
        for attempt in range(2):
            nonce = await self.request(frame.RESET_ARM)
            try:
                await self.request(frame.RESET_CONFIRM, bytes(nonce[:4]) + b"WIPE")
                return
            except TokenError as exc:
                if exc.status != frame.DENIED or attempt:
                    raise

    async def echo(self, data: bytes) -> bytes:
        return await self.request(frame.ECHO, data)

    # ------------------------------------------------------------ framing

    async def _json(self, command: int, obj: dict | None = None) -> dict:
        return _loads(await self.request(command, b"" if obj is None else _dumps(obj)))

    async def request(self, command: int, payload: bytes = b"", timeout: float | None = None
                      ) -> bytes:
        """Send one command and return the OK body; repeat with the same seq if no answer comes."""
        self._seq = (self._seq + 1) & 0xFFFF
        seq = self._seq
        wire = frame.encode(command, seq, payload)
        self._unmatched_error = None
        for _attempt in range(self.retries + 1):
            await self.link.send(wire)
            answer = await self._answer(command, seq, timeout or self.timeout)
            if answer is None:
                continue  # lost request or lost answer, or a garbled frame: repeat it
            status, body = answer[0], bytes(answer[1:])
            if status == frame.OK:
                return body
            raise TokenError(_plain(status, body), status)
        if self._unmatched_error:  # e.g. the token never read our frames: another version
            status, body = self._unmatched_error[0], bytes(self._unmatched_error[1:])
            raise TokenError(_plain(status, body), status)
        raise LinkLost("The token stopped answering. Unplug it, plug it in again and retry: "
                       "nothing was erased.")

    async def _answer(self, command: int, seq: int, timeout: float) -> bytes | None:
        """Wait for the answer to (command, seq); None on timeout or a BAD_FRAME error frame.

        An error frame (type 0xFF, seq 0) may be about line noise rather than our
        request: BAD_FRAME makes us repeat at once, any other is kept and only
        reported if our answer never comes.
        """
        deadline = time.monotonic() + timeout
        while True:
            for ftype, fseq, payload in self._decoder.frames():
                if ftype == (command | frame.RESPONSE) and fseq == seq:
                    return payload or b"\x04"
                if ftype == frame.ERROR_TYPE:
                    if (payload[:1] or b"\x01")[0] == frame.BAD_FRAME:
                        return None
                    self._unmatched_error = payload
                # else: a late answer to an earlier, repeated request: ignore it
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            data = await self.link.recv(remaining)
            if data:
                self._decoder.feed(data)


def _plain(status: int, body: bytes) -> str:
    detail = body.decode("utf-8", "replace").strip()[:200]
    text = _PLAIN.get(status, f"The token reported error {status}.")
    return f"{text} (token says: {detail})" if detail else text


def _dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _loads(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError):
        raise TokenError("The token's answer is not understood. Unplug it, plug it in "
                         "again and retry.", 4) from None
    if not isinstance(data, dict):
        raise TokenError("The token's answer is not understood.", 4)
    return data
