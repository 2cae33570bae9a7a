"""A kiosk-side Bumble central on a virtual link, for the host port's BLE tests.

It finds the sync service by the UUIDs of docs/sync-protocol.md only (it does
not import the token's code for them), so a wrong UUID in the token fails here.
"""

from __future__ import annotations

import asyncio
import socket

from bumble.controller import Controller
from bumble.device import Device, Peer
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

SERVICE = "6e0a0001-8b53-4d4a-9f6c-524f42455254"
WRITE = "6e0a0002-8b53-4d4a-9f6c-524f42455254"
NOTIFY = "6e0a0003-8b53-4d4a-9f6c-524f42455254"


async def kiosk_device(link: LocalLink, address: str = "F0:F1:F2:F3:F4:F5") -> Device:
    controller = Controller("kiosk", link=link)
    device = Device(name="kiosk", address=Address(address),
                    host=Host(controller, AsyncPipeSink(controller)))
    await device.power_on()
    return device


async def controller_on_tcp(link: LocalLink):
    """A virtual controller on `link` whose HCI is served on a free loopback TCP port.

    A `robert-token --ble tcp-client:127.0.0.1:PORT` process drives it.
    Returns (port, transport).
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    transport = await open_tcp_server_transport_with_socket(sock)
    Controller("token-hci", host_source=transport.source, host_sink=transport.sink, link=link)
    return port, transport


class KioskSession:
    """One GATT connection to a token's sync service: send bytes, collect notified bytes."""

    def __init__(self, peer: Peer, write, mtu: int):
        self.peer = peer
        self.write = write
        self.mtu = mtu
        self.received = bytearray()
        self.pieces: list[int] = []
        self._arrived = asyncio.Event()

    @classmethod
    async def connect(cls, kiosk: Device, address: Address, mtu: int = 247) -> KioskSession:
        connection = await kiosk.connect(address, timeout=10)
        peer = Peer(connection)
        used = await peer.request_mtu(mtu) if mtu > 23 else 23
        services = await peer.discover_service(SERVICE)
        assert services, "the token does not expose the sync service UUID"
        chars = await peer.discover_characteristics(uuids=[WRITE, NOTIFY], service=services[0])
        by_uuid = {str(c.uuid).lower(): c for c in chars}
        session = cls(peer, by_uuid[WRITE], used)
        await peer.subscribe(by_uuid[NOTIFY], session._on_notify)
        return session

    def _on_notify(self, value: bytes) -> None:
        self.pieces.append(len(value))
        self.received.extend(value)
        self._arrived.set()

    async def send(self, data: bytes) -> None:
        step = self.mtu - 3
        for i in range(0, len(data), step):
            await self.peer.write_value(self.write, data[i:i + step], with_response=False)

    async def take(self, n: int, timeout: float = 10.0) -> bytes:
        """The first n received bytes (waiting for them)."""
        async with asyncio.timeout(timeout):
            while len(self.received) < n:
                self._arrived.clear()
                await self._arrived.wait()
        out = bytes(self.received[:n])
        del self.received[:n]
        return out
