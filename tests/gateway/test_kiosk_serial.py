"""The USB serial transport on a real pseudo-terminal: bytes both ways, timeouts, cable pulled."""

import asyncio
import os
import tty

import pytest

from gateway.errors import LinkLost, NoToken
from gateway.transport.serial import SerialLink


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    yield master, path
    try:
        os.close(master)
    except OSError:
        pass


def test_bytes_flow_both_ways_and_silence_is_empty(pty_pair):
    master, path = pty_pair

    async def go():
        link = SerialLink.open(path)
        await link.send(b"RT\x01hello")
        assert os.read(master, 100) == b"RT\x01hello"
        assert await link.recv(0.05) == b""
        os.write(master, bytes(range(256)))
        got = b""
        while len(got) < 256:
            got += await link.recv(1.0)
        assert got == bytes(range(256))
        await link.close()

    asyncio.run(go())


def test_other_end_closed_is_link_lost(pty_pair):
    master, path = pty_pair

    async def go():
        link = SerialLink.open(path)
        os.close(master)
        with pytest.raises(LinkLost) as err:
            await link.recv(1.0)
        assert "nothing was erased" in err.value.message
        with pytest.raises(LinkLost):
            await link.send(b"x")

    asyncio.run(go())


def test_missing_port_is_no_token_in_plain_words(tmp_path):
    with pytest.raises(NoToken, match="no such port") as err:
        SerialLink.open(str(tmp_path / "ttyACM9"))
    assert err.value.exit_code == 5
