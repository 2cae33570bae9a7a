"""The pty that stands for the token's USB port, opened with pyserial as the kiosk does."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
import serial
from ports.host.usb import PtyLink


@pytest.fixture
def pty_link(tmp_path):
    """A PtyLink served on its own loop; each byte string in gets b'<' + data + b'>' back."""
    loop = asyncio.new_event_loop()
    link = PtyLink(str(tmp_path / "token-usb"), stale_s=0.3)
    link.open()
    received = []

    def on_data(data: bytes) -> bytes:
        received.append(data)
        return b"<" + data + b">"

    loop.call_soon(link.start, loop, on_data)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    link.received = received
    yield link
    loop.call_soon_threadsafe(link.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    assert not os.path.lexists(tmp_path / "token-usb"), "symlink left behind"


def read_exactly(port: serial.Serial, n: int) -> bytes:
    data = port.read(n)
    assert len(data) == n, f"got {data!r}"
    return data


def test_raw_bytes_both_ways_and_symlink(pty_link):
    assert os.path.realpath(pty_link.link_path) == pty_link.name
    with serial.Serial(pty_link.link_path, timeout=5) as port:
        every_byte = bytes(range(256))
        port.write(every_byte)  # raw: no echo, no CR/LF translation, no ^C / ^D processing
        reply = read_exactly(port, 258)
    assert reply.startswith(b"<") and reply.endswith(b">")
    assert b"".join(pty_link.received) == every_byte


def test_kiosk_closes_and_reopens(pty_link):
    for round_ in range(3):
        with serial.Serial(pty_link.name, timeout=5) as port:
            port.write(b"hello%d" % round_)
            assert read_exactly(port, 8) == b"<hello%d>" % round_


def test_replies_never_read_are_dropped_for_the_next_kiosk(pty_link):
    with serial.Serial(pty_link.name, timeout=5) as port:
        port.write(b"lost")
        deadline = time.monotonic() + 5
        while not pty_link.received and time.monotonic() < deadline:
            time.sleep(0.01)
    time.sleep(0.5)  # > stale_s: the old kiosk is gone
    with serial.Serial(pty_link.name, timeout=5) as port:
        port.write(b"new")
        assert read_exactly(port, 5) == b"<new>"
