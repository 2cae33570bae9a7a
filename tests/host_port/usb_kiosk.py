"""A minimal kiosk over a host token's pty: pyserial + the one frame codec."""

from __future__ import annotations

import json
import time

import serial
from robert_token import frame


class UsbKiosk:
    def __init__(self, path: str, timeout: float = 5.0):
        self.port = serial.Serial(path, timeout=0.05)
        self.timeout = timeout
        self.decoder = frame.Decoder()
        self.seq = 0

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> UsbKiosk:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def next_event(self, timeout: float | None = None) -> tuple[bool, int, int, bytes]:
        """The next decoded frame (ok, type, seq, payload) from the token."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for event in self.decoder.events():
                return event
            if time.monotonic() > deadline:
                raise TimeoutError("no frame from the token")
            self.decoder.feed(self.port.read(4096))

    def request(self, ftype: int, payload: bytes = b"") -> tuple[int, bytes]:
        """Send one command, return (status, body) of its answer."""
        self.seq = (self.seq + 1) & 0xFFFF
        self.send(frame.encode(ftype, self.seq, payload))
        ok, rtype, rseq, body = self.next_event()
        assert ok, f"the token's answer did not decode: {body!r}"
        assert (rtype, rseq) == (ftype | frame.RESPONSE, self.seq), (rtype, rseq, body)
        return body[0], bytes(body[1:])

    def ok(self, ftype: int, payload: bytes = b"") -> bytes:
        status, body = self.request(ftype, payload)
        assert status == frame.OK, f"status {status}: {body.decode(errors='replace')}"
        return body

    def json(self, ftype: int, obj: dict | None = None) -> dict:
        body = self.ok(ftype, b"" if obj is None else json.dumps(obj).encode())
        return json.loads(body) if body else {}

    def info(self) -> dict:
        return self.json(frame.INFO)
