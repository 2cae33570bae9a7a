"""USB serial transport: a CDC-ACM/UART token (/dev/ttyACM*, /dev/ttyUSB*) or a host-port pty.

pyserial opens the port; reads are driven by the event loop (`add_reader` on the
file descriptor) so the kiosk never blocks on a silent token.
"""

from __future__ import annotations

import asyncio
import contextlib

import serial

from gateway.errors import LinkLost, NoToken

BAUDRATE = 115200  # 8N1; irrelevant on CDC-ACM and ptys, needed on UART bridges


class SerialLink:
    """A `Link` over a serial port."""

    def __init__(self, port: serial.Serial, path: str) -> None:
        self._port = port
        self.description = f"USB {path}"
        self._lost = False

    @classmethod
    def open(cls, path: str) -> SerialLink:
        try:
            port = serial.Serial(path, BAUDRATE, timeout=0, write_timeout=2, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise NoToken(f"No token answers on {path} ({_reason(exc)}). "
                          "Check that the token is plugged in and the port name is right.") from None
        return cls(port, path)

    async def send(self, data: bytes) -> None:
        self._check()
        try:
            await asyncio.to_thread(self._port.write, data)
        except (serial.SerialException, OSError):
            self._lost = True
            raise LinkLost() from None

    async def recv(self, timeout: float) -> bytes:
        self._check()
        data = self._read_now()
        if data:
            return data
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self._port.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await asyncio.wait_for(ready, timeout)
        except TimeoutError:
            return b""
        finally:
            loop.remove_reader(fd)
        data = self._read_now(at_least_one=True)
        if not data:  # readable but nothing to read: the other end is gone
            self._lost = True
            raise LinkLost()
        return data

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self._port.close()

    def _read_now(self, at_least_one: bool = False) -> bytes:
        try:
            waiting = self._port.in_waiting
            if at_least_one:
                waiting = max(1, waiting)
            return self._port.read(waiting) if waiting else b""
        except (serial.SerialException, OSError, TypeError):
            self._lost = True
            raise LinkLost() from None

    def _check(self) -> None:
        if self._lost or not self._port.is_open:
            raise LinkLost()


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "No such file" in text or "could not open" in text:
        return "no such port"
    if "Permission denied" in text:
        return "permission denied: add the kiosk user to the dialout group"
    if "lock" in text.lower():
        return "the port is in use by another program"
    return "cannot open the port"
