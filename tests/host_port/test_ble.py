"""The GATT sync service of a host token, reached by a kiosk-side Bumble central.

In-process: the token's GATT server and the kiosk share a Bumble virtual link.
Cross-process: `robert-token --ble tcp-client:...` drives a virtual controller
served by the test on a free TCP port, on the kiosk's virtual link.
"""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest
from bumble.link import LocalLink

frame = importlib.import_module("robert_token.frame")
sync = importlib.import_module("robert_token.sync")
token_module = importlib.import_module("robert_token.token")

from ports.host import ble  # noqa: E402
from ports.host.clock import SystemClock  # noqa: E402
from ports.host.led import LogLed  # noqa: E402
from ports.host.port import HostPort  # noqa: E402
from ports.host.radio import SilentRadio  # noqa: E402
from ports.host.storage import FolderStorage  # noqa: E402

from .ble_kiosk import KioskSession, controller_on_tcp, kiosk_device  # noqa: E402


def host_token(state_dir, serial: str):
    port = HostPort(FolderStorage(str(state_dir)), SystemClock(), SilentRadio(), LogLed(),
                    serial=serial, model="nrf52840")
    return token_module.Token(port)


async def info_over(session: KioskSession, seq: int) -> tuple[dict, int, int]:
    """INFO over GATT; returns (info, notifications the answer took, answer size)."""
    before = len(session.pieces)
    await session.send(frame.encode(frame.INFO, seq))
    header = await session.take(frame.HEADER_SIZE)
    assert header[:2] == b"RT"
    n = int.from_bytes(header[6:8], "big")
    rest = await session.take(n + frame.CRC_SIZE)
    decoder = frame.Decoder()
    decoder.feed(header + rest)
    ((ok, ftype, rseq, payload),) = list(decoder.events())
    assert ok and ftype == frame.INFO | frame.RESPONSE and rseq == seq
    assert payload[0] == frame.OK
    return json.loads(payload[1:]), len(session.pieces) - before, len(header) + len(rest)


@pytest.mark.parametrize("mtu", [23, 247])
def test_info_over_gatt_in_process(tmp_path, mtu):
    async def run() -> None:
        link = LocalLink()
        token = host_token(tmp_path, "RT-00000021")
        device, server = await ble.start_virtual_token(
            link, lambda: sync.Session(token), "RT-00000021")
        kiosk = await kiosk_device(link)
        session = await KioskSession.connect(kiosk, device.random_address, mtu=mtu)
        assert session.mtu == mtu
        info, notifications, size = await info_over(session, 1)
        assert info["serial"] == "RT-00000021" and info["model"] == "nrf52840"
        assert max(session.pieces) <= mtu - 3
        assert notifications == -(-size // (mtu - 3)), "answer cut into MTU - 3 pieces"
        if mtu == 247:
            assert max(session.pieces) > 20, "pieces use the larger MTU"
        # a second frame, split across writes, on the same connection
        echo = bytes(range(200)) * 3
        await session.send(frame.encode(frame.ECHO, 2, echo))
        reply = await session.take(frame.OVERHEAD + 1 + len(echo))
        assert reply[8 + 1:-4] == echo
        assert server.connections == 1

    asyncio.run(run())


def test_garbage_over_gatt_gets_an_error_frame(tmp_path):
    async def run() -> None:
        link = LocalLink()
        token = host_token(tmp_path, "RT-00000022")
        device, _ = await ble.start_virtual_token(link, lambda: sync.Session(token), "RT-00000022")
        session = await KioskSession.connect(await kiosk_device(link), device.random_address)
        bad = bytearray(frame.encode(frame.ECHO, 5, b"hello"))
        bad[9] ^= 0x01
        await session.send(bytes(bad))
        answer = await session.take(frame.OVERHEAD + 1 + len("frame CRC mismatch"))
        decoder = frame.Decoder()
        decoder.feed(answer)
        ((ok, ftype, seq, payload),) = list(decoder.events())
        assert (ok, ftype, seq, payload[0]) == (True, 0xFF, 0, frame.BAD_FRAME)
        info, _, _ = await info_over(session, 6)
        assert info["link"]["bad_frames"] >= 1

    asyncio.run(run())


def test_robert_token_process_over_ble(spawn_token):
    """The real `robert-token --ble` process, found by its service UUID, exchanging INFO at MTU 247."""

    async def run() -> None:
        link = LocalLink()
        port, transport = await controller_on_tcp(link)
        kiosk = await kiosk_device(link)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, spawn_token, "--serial", "RT-00000023",
                                   "--ble", f"tcp-client:127.0.0.1:{port}")
        found = asyncio.Event()
        seen = {}

        def on_advertisement(adv) -> None:
            uuids = adv.data.get(adv.data.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
            if any(str(u).lower() == ble.SERVICE_UUID for u in uuids):
                seen["address"] = adv.address
                found.set()

        kiosk.on("advertisement", on_advertisement)
        await kiosk.start_scanning()
        await asyncio.wait_for(found.wait(), 15)
        await kiosk.stop_scanning()
        assert str(seen["address"]) == str(ble.address_for("RT-00000023"))
        session = await KioskSession.connect(kiosk, seen["address"], mtu=247)
        assert session.mtu == 247
        info, _, _ = await info_over(session, 1)
        assert info["serial"] == "RT-00000023"
        assert max(session.pieces) > 20
        await session.peer.connection.disconnect()
        # advertising restarts after the kiosk leaves: a second kiosk visit works
        session = await KioskSession.connect(kiosk, seen["address"], mtu=100)
        info, _, _ = await info_over(session, 2)
        assert info["serial"] == "RT-00000023"
        assert max(session.pieces) <= 97
        await transport.close()

    asyncio.run(run())


def test_ble_under_the_air_waits_for_the_first_time(spawn_token):
    """With --air the core starts on the air's first `time`; BLE serves it from then on."""
    from .air_server import TinyAir

    air = TinyAir().start()

    async def run() -> None:
        link = LocalLink()
        port, transport = await controller_on_tcp(link)
        kiosk = await kiosk_device(link)
        loop = asyncio.get_running_loop()
        token = await loop.run_in_executor(
            None, spawn_token, "--serial", "RT-00000024", "--ble",
            f"tcp-client:127.0.0.1:{port}", "--air", f"127.0.0.1:{air.port}")
        air_link = await loop.run_in_executor(None, air.wait_join)
        session = await KioskSession.connect(kiosk, ble.address_for("RT-00000024"))
        await session.send(frame.encode(frame.INFO, 1))
        await asyncio.sleep(0.3)
        assert not session.received, "no core yet: nothing answers"
        await loop.run_in_executor(None, air_link.time, 3976214400.0)
        info, _, _ = await info_over(session, 2)
        assert info["serial"] == "RT-00000024"
        assert "BLE write of 12 bytes dropped" in token.log()  # written before INFO 2 was served
        await transport.close()

    try:
        asyncio.run(run())
    finally:
        air.stop()
