"""The ROBERT FD64 exchange service of a host token on Bumble (the `--ble` side).

The same service the Android app runs (`BleGattManagerImpl`) and the device
ports run: 16-bit service 0xFD64 with one WRITE characteristic
(`gatt_profile.EXCHANGE_CHAR_UUID`) into which an iPhone writes HELLO(16) ||
version || txPower. Nothing is readable; each write goes to
`token.on_hello_payload` with the connection's RSSI, read from the controller
(HCI Read RSSI). A controller that gives no RSSI gets the write refused (a
HELLO without its RSSI cannot be scored) and counted.
"""

import asyncio
import logging

from bumble.gatt import Characteristic, CharacteristicValue, Service
from robert_token import gatt_profile

log = logging.getLogger("robert_token.exchange")


class GattExchangeServer:
    """The FD64 service on `device`; `on_payload(payload, rssi)` takes each write."""

    def __init__(self, device, on_payload):
        self.on_payload = on_payload
        self.taken = 0
        self.refused = 0
        self.characteristic = Characteristic(
            gatt_profile.EXCHANGE_CHAR_UUID, Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE, CharacteristicValue(write=self._on_write))
        self.service = Service(gatt_profile.EXCHANGE_SERVICE_UUID, [self.characteristic])
        device.add_service(self.service)
        self._tasks = set()

    def _on_write(self, connection, value) -> None:
        task = asyncio.get_running_loop().create_task(self._take(connection, bytes(value)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take(self, connection, value: bytes) -> None:
        try:
            rssi = int(await connection.get_rssi())
        except Exception as exc:  # controller without Read RSSI, or the link is gone
            self.refused += 1
            log.info("exchange write of %d bytes refused: no RSSI (%s)", len(value), type(exc).__name__)
            return
        if not -127 <= rssi <= 20:
            self.refused += 1
            return
        try:
            ok = self.on_payload(value, rssi)
        except Exception as exc:  # a core bug must not take the BLE side down
            log.error("exchange write of %d bytes failed: %s", len(value), type(exc).__name__)
            ok = False
        if ok:
            self.taken += 1
        else:
            self.refused += 1
