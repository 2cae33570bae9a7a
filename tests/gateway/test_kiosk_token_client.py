"""TokenClient against a real host-port token, with faults injected on the real pty link."""

from __future__ import annotations

import asyncio
import importlib

import pytest

importlib.import_module("robert_token.frame")


from gateway.errors import LinkLost, TokenError  # noqa: E402
from gateway.token_client import TokenClient  # noqa: E402
from gateway.transport.serial import SerialLink  # noqa: E402


class FaultyLink:
    """A real link that garbles, prefixes or loses what we tell it to."""

    def __init__(self, link):
        self.link = link
        self.description = "faulty " + link.description
        self.drop_answers = 0  # received chunks to throw away
        self.garbage_before = b""  # bytes sent before the next frame
        self.flip_next_send = False  # corrupt one byte of the next frame
        self.hold_next_answer = 0.0  # deliver the next answer this many seconds late
        self._held = b""
        self._held_until = 0.0
        self.sent = 0

    async def send(self, data: bytes) -> None:
        self.sent += 1
        if self.garbage_before:
            data, self.garbage_before = self.garbage_before + data, b""
        if self.flip_next_send:
            self.flip_next_send = False
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        await self.link.send(data)

    async def recv(self, timeout: float) -> bytes:
        loop = asyncio.get_running_loop()
        if self._held and loop.time() >= self._held_until:
            data, self._held = self._held, b""
            return data + await self.link.recv(0.01)
        data = await self.link.recv(min(timeout, 0.05) if self._held else timeout)
        if data and self.hold_next_answer:
            self._held, self._held_until = data, loop.time() + self.hold_next_answer
            self.hold_next_answer = 0.0
            return b""
        if self._held:
            self._held += data
            return b""
        if data and self.drop_answers:
            self.drop_answers -= 1
            await asyncio.sleep(0.05)
            await self.link.recv(0.05)  # swallow whatever else of that answer is in flight
            return b""
        return data

    async def close(self) -> None:
        await self.link.close()


def with_faulty(pty, fn):
    async def go():
        link = FaultyLink(SerialLink.open(pty))
        try:
            return await fn(TokenClient(link, timeout=0.5), link)
        finally:
            await link.close()
    return asyncio.run(go())


def test_lost_answer_garbage_and_bad_crc_are_recovered(spawn_token):
    token = spawn_token("RT-0000C0DE")

    async def go(client, link):
        first = await client.info()
        link.drop_answers = 1  # the answer is lost: the request is repeated, same seq
        assert (await client.echo(b"ping")) == b"ping"
        assert link.sent == 3
        link.garbage_before = b"\x00noise RT\x07"  # line noise before a frame
        assert (await client.echo(b"after noise")) == b"after noise"
        link.flip_next_send = True  # bad CRC: the token answers 0xFF, the client repeats
        assert (await client.echo(b"after crc")) == b"after crc"
        last = await client.info()
        return first, last

    first, last = with_faulty(token.pty, go)
    assert first["state"] == "not_provisioned" and first["serial"] == "RT-0000C0DE"
    assert last["link"]["garbage"] > first["link"]["garbage"]
    assert last["link"]["bad_frames"] > first["link"]["bad_frames"]


def test_token_errors_carry_plain_words(spawn_token):
    token = spawn_token("RT-0000C0DF")

    async def go(client, link):
        with pytest.raises(TokenError) as err:
            await client.auth_request("status")
        return err.value

    err = with_faulty(token.pty, go)
    assert err.status == 5 and "not provisioned" in err.message and err.exit_code == 3


def test_silent_token_is_link_lost(spawn_token):
    token = spawn_token("RT-0000C0E0")

    async def go(client, link):
        link.drop_answers = 10
        with pytest.raises(LinkLost, match="stopped answering"):
            await client.info()
        return link.sent

    assert with_faulty(token.pty, go) == 4  # one try and three repeats


def test_keys_passed_through_never_show_in_errors(spawn_token):
    import base64

    token = spawn_token("RT-0000C0E1")
    k_mac, k_tuples = bytes(range(32)), bytes(range(100, 132))
    settings = {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": "RT-0000C0E1",
                "model": "nrf52840"}

    async def go(client, link):
        assert (await client.provision(k_mac, k_tuples, b"\x01\x02\x03\x04\x05", settings)
                )["serial"] == "RT-0000C0E1"
        with pytest.raises(TokenError) as err:  # a second time: refused
            await client.provision(k_mac, k_tuples, None, settings)
        with pytest.raises(ValueError) as bad:  # wrong sizes never reach the token
            await client.provision(k_mac[:31], k_tuples, None, settings)
        return err.value, bad.value, repr(client)

    err, bad, shown = with_faulty(token.pty, go)
    assert err.status == 6 and "already provisioned" in err.message
    for key in (k_mac, k_tuples):
        for form in (key.hex(), base64.b64encode(key).decode(), repr(key)):
            assert form not in err.message + str(err) + str(bad) + shown


def test_late_answer_to_a_repeated_history_open_is_recovered(seeded_token, monkeypatch):
    """The first OPEN's answer comes after the repeat: it names a session the repeat replaced."""
    from gateway import flows, token_client
    from gateway.history import count_hellos, to_report_contacts

    monkeypatch.setattr(token_client, "SLOW_ANSWER_S", 0.3)

    async def go(client, link):
        now = (await client.info())["clock"]["ntp"]
        link.hold_next_answer = 0.6
        session, data = await flows.read_whole_history(client, now - 86400, now + 1,
                                                       lambda *a: None)
        return link.sent, data

    sent, data = with_faulty(seeded_token.pty, go)
    assert count_hellos(to_report_contacts(data)) == 600
    assert sent >= 4  # INFO, OPEN, the repeated OPEN, ... and a fresh OPEN after BAD_STATE
