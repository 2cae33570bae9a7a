"""BLE GATT transport: the token's sync service (docs/sync-protocol.md, "Transports").

The kiosk is the GATT client. It drives a Bluetooth controller through Bumble:
a USB dongle (`usb:0`), any Bumble transport, or in tests a virtual
controller on Bumble's in-process link. Frames are cut into pieces of
ATT_MTU - 3 bytes and written without response; the token answers by
notifications, which arrive here in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from bumble import hci
from bumble.device import Device, Peer
from bumble.transport import open_transport

from gateway.errors import LinkLost, NoToken

SERVICE_UUID = "6e0a0001-8b53-4d4a-9f6c-524f42455254"
WRITE_UUID = "6e0a0002-8b53-4d4a-9f6c-524f42455254"
NOTIFY_UUID = "6e0a0003-8b53-4d4a-9f6c-524f42455254"
WANTED_MTU = 247
CONNECT_TIMEOUT = 10.0
KIOSK_ADDRESS = "F0:F1:F2:F3:F4:F5"
TRANSPORT_ENV = "ROBERT_KIOSK_BLE_TRANSPORT"


class BleLink:
    """A `Link` over one GATT connection to a token's sync service."""

    def __init__(self, peer: Peer, write_char, mtu: int, address: str) -> None:
        self._peer = peer
        self._write_char = write_char
        self.mtu = mtu
        self.description = f"BLE {address} (ATT MTU {mtu})"
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._lost = False
        self._on_close: list = []
        self.pdus_sent = 0  # ATT writes / notifications, to count the link's own overhead
        self.pdus_received = 0
        peer.connection.on("disconnection", self._disconnected)

    @classmethod
    async def connect(cls, device: Device, address: str, mtu: int = WANTED_MTU) -> BleLink:
        """Connect to the token at `address` with an already powered-on Bumble device."""
        try:
            connection = await device.connect(
                hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS), timeout=CONNECT_TIMEOUT)
        except (TimeoutError, hci.HCI_Error, ValueError, OSError) as exc:
            raise NoToken(f"No token answers over BLE at {address} ({type(exc).__name__}). "
                          "Bring the token closer and retry.") from None
        peer = Peer(connection)
        try:
            used_mtu = await peer.request_mtu(mtu)
            services = await peer.discover_service(SERVICE_UUID)
            if not services:
                raise NoToken(f"The BLE device {address} is not a ROBERT token "
                              "(no sync service).")
            await services[0].discover_characteristics()
            writes = services[0].get_characteristics_by_uuid(WRITE_UUID)
            notifies = services[0].get_characteristics_by_uuid(NOTIFY_UUID)
            if not writes or not notifies:
                raise NoToken(f"The BLE device {address} has an incomplete sync service.")
            link = cls(peer, writes[0], used_mtu, address)
            await peer.subscribe(notifies[0], link._notified)
        except NoToken:
            with contextlib.suppress(Exception):
                await connection.disconnect()
            raise
        return link

    def _notified(self, value: bytes) -> None:
        self.pdus_received += 1
        self._inbox.put_nowait(bytes(value))

    def _disconnected(self, *_args) -> None:
        self._lost = True
        self._inbox.put_nowait(None)

    async def send(self, data: bytes) -> None:
        """The bytes in pieces of ATT_MTU - 3 (docs/sync-protocol.md)."""
        if self._lost:
            raise LinkLost()
        step = self.mtu - 3
        try:
            for i in range(0, len(data), step):
                await self._write_piece(data[i:i + step])
        except Exception:  # any failure of the ATT layer means the link is gone
            self._lost = True
            raise LinkLost() from None

    async def _write_piece(self, piece: bytes) -> None:
        await self._peer.write_value(self._write_char, piece, with_response=False)
        self.pdus_sent += 1

    async def recv(self, timeout: float) -> bytes:
        if self._lost and self._inbox.empty():
            raise LinkLost()
        try:
            piece = await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            return b""
        if piece is None:
            raise LinkLost()
        chunks = [piece]
        while not self._inbox.empty():  # coalesce what already arrived
            nxt = self._inbox.get_nowait()
            if nxt is None:
                self._inbox.put_nowait(None)
                break
            chunks.append(nxt)
        return b"".join(chunks)

    async def close(self) -> None:
        if not self._lost:
            with contextlib.suppress(Exception):
                await self._peer.connection.disconnect()
        for closer in self._on_close:
            with contextlib.suppress(Exception):
                await closer()


async def open_ble(address: str, transport: str | None = None):
    """Connect to a token over BLE.

    With env ROBERT_KIOSK_BLE_TRANSPORT (or `transport`) set, Bumble drives that
    controller; otherwise bleak (the OS Bluetooth stack) when it is installed,
    else Bumble on the first USB dongle (`usb:0`).
    """
    spec = transport or os.environ.get(TRANSPORT_ENV)
    if spec is None and _bleak_available():
        return await BleakLink.connect(address)
    spec = spec or "usb:0"
    try:
        hci_transport = await open_transport(spec)
    except Exception as exc:  # bumble raises many types for a missing dongle
        raise NoToken(f"The kiosk's Bluetooth adapter ({spec}) cannot be opened "
                      f"({type(exc).__name__}). Plug in the Bluetooth dongle or use USB.") \
            from None
    device = Device.with_hci("robert-kiosk", hci.Address(KIOSK_ADDRESS),
                             hci_transport.source, hci_transport.sink)
    try:
        await device.power_on()
        link = await BleLink.connect(device, address)
    except BaseException:
        await hci_transport.close()
        raise
    link._on_close.append(hci_transport.close)
    return link


async def virtual_kiosk_device(local_link) -> Device:
    """A powered-on kiosk device on a Bumble `LocalLink` (tests, benchmarks: no radio needed)."""
    from bumble.controller import Controller
    from bumble.host import Host
    from bumble.transport.common import AsyncPipeSink

    controller = Controller("kiosk", link=local_link)
    device = Device(name="robert-kiosk", address=hci.Address(KIOSK_ADDRESS),
                    host=Host(controller, AsyncPipeSink(controller)))
    await device.power_on()
    return device


def _bleak_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("bleak") is not None


class BleakLink:
    """A `Link` through the OS Bluetooth stack with bleak (optional; not installed by default)."""

    def __init__(self, client, address: str) -> None:
        self._client = client
        self.mtu = int(getattr(client, "mtu_size", 23) or 23)
        self.description = f"BLE {address} (OS stack, ATT MTU {self.mtu})"
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._lost = False

    @classmethod
    async def connect(cls, address: str) -> BleakLink:
        from bleak import BleakClient
        from bleak.exc import BleakError

        holder: list[BleakLink] = []

        def gone(_client) -> None:
            if holder:
                holder[0]._lost = True
                holder[0]._inbox.put_nowait(None)

        client = BleakClient(address, disconnected_callback=gone, timeout=CONNECT_TIMEOUT)
        try:
            await client.connect()
            link = cls(client, address)
            holder.append(link)
            await client.start_notify(NOTIFY_UUID, lambda _c, data: link._inbox.put_nowait(
                bytes(data)))
        except (BleakError, TimeoutError, OSError) as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise NoToken(f"No token answers over BLE at {address} ({type(exc).__name__}). "
                          "Bring the token closer and retry.") from None
        return link

    async def _write_piece(self, piece: bytes) -> None:
        await self._client.write_gatt_char(WRITE_UUID, piece, response=False)

    send = BleLink.send
    recv = BleLink.recv

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.disconnect()
