"""The GATT sync service of a host token, on Bumble.

docs/sync-protocol.md ("Transports"): the kiosk writes frame bytes to the
write characteristic (write without response) and gets the token's replies as
notifications of the notify characteristic, cut into ATT_MTU - 3 pieces. We
accept an MTU up to 247. Each connection gets its own sync session, so a
half-sent frame of a dropped connection never mixes with the next one.

Tests (and the kiosk's BLE tests) run this server inside their own process on
a Bumble virtual link: see `start_virtual_token`.
"""

import asyncio
import hashlib
import logging

from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

log = logging.getLogger("robert_token.ble")

SERVICE_UUID = "6e0a0001-8b53-4d4a-9f6c-524f42455254"
WRITE_UUID = "6e0a0002-8b53-4d4a-9f6c-524f42455254"  # kiosk -> token, write without response
NOTIFY_UUID = "6e0a0003-8b53-4d4a-9f6c-524f42455254"  # token -> kiosk, notify
MAX_MTU = 247


def address_for(serial: str) -> Address:
    """A random static address derived from the serial (stable across restarts)."""
    raw = bytearray(hashlib.sha256(b"robert-token-ble:" + serial.encode()).digest()[:6])
    raw[0] |= 0xC0  # random static: two top bits set
    return Address(":".join("%02X" % b for b in raw), Address.RANDOM_DEVICE_ADDRESS)


def advertising_data() -> bytes:
    """Flags + the sync service UUID, so a kiosk scanning for the UUID finds us."""
    return bytes(AdvertisingData([
        (AdvertisingData.FLAGS, bytes([AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG
                                       | AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG])),
        (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(SERVICE_UUID))),
    ]))


def scan_response_data(name: str) -> bytes:
    return bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()[:29])]))


def pieces(data: bytes, mtu: int) -> list:
    """`data` cut into notifications of at most ATT_MTU - 3 bytes."""
    size = mtu - 3
    return [data[i:i + size] for i in range(0, len(data), size)]


class GattSyncServer:
    """The sync service on `device`; `new_session()` makes the session of one connection.

    A session is any object with `feed(bytes) -> bytes` (robert_token.sync.Session).
    """

    def __init__(self, device: Device, new_session):
        self.device = device
        self.new_session = new_session
        self._links = {}  # connection handle -> _Link
        self.notify_characteristic = Characteristic(
            NOTIFY_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")
        self.write_characteristic = Characteristic(
            WRITE_UUID, Characteristic.Properties.WRITE_WITHOUT_RESPONSE
            | Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE, CharacteristicValue(write=self._on_write))
        self.service = Service(SERVICE_UUID, [self.write_characteristic,
                                              self.notify_characteristic])
        device.add_service(self.service)
        device.gatt_server.max_mtu = MAX_MTU
        device.on("connection", self._on_connection)

    def _on_connection(self, connection) -> None:
        link = _Link(self, connection)
        self._links[connection.handle] = link
        log.info("BLE connection from %s", connection.peer_address)

        def gone(*_):
            self._links.pop(connection.handle, None)
            link.close()
            log.info("BLE connection from %s closed", connection.peer_address)

        connection.on("disconnection", gone)

    def _on_write(self, connection, value: bytes) -> None:
        link = self._links.get(connection.handle)
        if link is None:  # a write racing the connection event: serve it anyway
            self._on_connection(connection)
            link = self._links[connection.handle]
        link.feed(bytes(value))

    @property
    def connections(self) -> int:
        return len(self._links)


class _Link:
    """One connection: its session and the ordered queue of notifications to send."""

    def __init__(self, server: GattSyncServer, connection):
        self.server = server
        self.connection = connection
        self.session = None  # made on the first write: the core may not run yet at connection
        self.queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._send_loop())

    def feed(self, data: bytes) -> None:
        if self.session is None:
            try:
                self.session = self.server.new_session()
            except RuntimeError as exc:
                log.warning("BLE write of %d bytes dropped: %s", len(data), exc)
                return
        reply = self.session.feed(data)
        if reply:
            for piece in pieces(reply, self.connection.att_mtu):
                self.queue.put_nowait(piece)

    async def _send_loop(self) -> None:
        while True:
            piece = await self.queue.get()
            await self.server.device.notify_subscriber(
                self.connection, self.server.notify_characteristic, piece)

    def close(self) -> None:
        self.task.cancel()


async def advertise(device: Device, name: str) -> None:
    """Connectable advertising of the sync service; restarts after each disconnection."""
    await device.start_advertising(
        advertising_data=advertising_data(), scan_response_data=scan_response_data(name),
        auto_restart=True, advertising_interval_min=100, advertising_interval_max=100)


class BleUnavailable(OSError):
    """The HCI transport given with --ble cannot be opened or does not answer."""


async def open_device(spec: str, name: str, address: Address, timeout: float = 10.0):
    """A powered-on Bumble device on the HCI transport `spec`; returns (device, transport)."""
    try:
        transport = await asyncio.wait_for(open_transport(spec), timeout)
    except Exception as exc:  # Bumble raises many types for a missing controller
        raise BleUnavailable("cannot open the BLE transport %r (%s: %s)"
                             % (spec, type(exc).__name__, exc)) from None
    device = Device.with_hci(name, address, transport.source, transport.sink)
    try:
        await asyncio.wait_for(device.power_on(), timeout)
    except Exception as exc:
        await transport.close()
        raise BleUnavailable("the controller on %r did not power on (%s)"
                             % (spec, type(exc).__name__)) from None
    return device, transport


async def start_virtual_token(link, new_session, serial: str = "RT-00000000"):
    """A token's GATT sync server on a Bumble `LocalLink`, inside the calling process.

    Returns (device, server); the device is powered on and advertising the
    service. A kiosk-side `Device` on the same link can connect to
    `device.random_address` (or find the service UUID while scanning).
    """
    address = address_for(serial)
    controller = Controller("token-" + serial, link=link, public_address=None)
    device = Device(name=serial, address=address,
                    host=Host(controller, AsyncPipeSink(controller)))
    server = GattSyncServer(device, new_session)
    await device.power_on()
    await advertise(device, serial)
    return device, server
