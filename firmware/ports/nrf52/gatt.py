"""The BLE GATT sync service on nRF52840 (CircuitPython `_bleio`).

The radio has one advertising set, so the kiosk can connect only in sync
mode (button pressed): the token then advertises connectably with the sync
service UUID for `SYNC_WINDOW_MS` instead of its HELLO.
"""

import _bleio

SERVICE = _bleio.UUID("6e0a0001-8b53-4d4a-9f6c-524f42455254")
RX = _bleio.UUID("6e0a0002-8b53-4d4a-9f6c-524f42455254")
TX = _bleio.UUID("6e0a0003-8b53-4d4a-9f6c-524f42455254")
SYNC_WINDOW_MS = 120000
PIECE = 244  # ATT_MTU 247 - 3
# SERVICE least significant byte first, as a literal (no bytes.fromhex / reversed needed)
_SERVICE_LE = b"\x54\x52\x45\x42\x4f\x52\x6c\x9f\x4a\x4d\x53\x8b\x01\x00\x0a\x6e"


def _sync_advert(name):
    uuid = _SERVICE_LE
    flags = b"\x02\x01\x06"
    uuids = bytes((17, 0x07)) + uuid
    return flags + uuids, bytes((len(name) + 1, 0x09)) + name.encode()


class GattSync:
    """One `Session` per connection: written bytes in, answers notified in pieces."""

    def __init__(self, adapter, new_session):
        self.adapter = adapter
        self.new_session = new_session
        self.service = _bleio.Service(SERVICE)
        self.rx = _bleio.Characteristic.add_to_service(
            self.service, RX, properties=_bleio.Characteristic.WRITE_NO_RESPONSE,
            write_perm=_bleio.Attribute.OPEN, read_perm=_bleio.Attribute.NO_ACCESS,
            max_length=PIECE, fixed_length=False)
        self.tx = _bleio.Characteristic.add_to_service(
            self.service, TX, properties=_bleio.Characteristic.NOTIFY,
            read_perm=_bleio.Attribute.OPEN, write_perm=_bleio.Attribute.NO_ACCESS,
            max_length=PIECE, fixed_length=False)
        self.inbox = _bleio.CharacteristicBuffer(self.rx, buffer_size=2048)
        self.session = None

    def start_sync_mode(self, name):
        """Advertise connectably with the sync service (the HELLO pauses)."""
        if self.adapter.advertising:
            self.adapter.stop_advertising()
        adv, scan_response = _sync_advert(name)
        self.adapter.start_advertising(adv, scan_response=scan_response, connectable=True, interval=0.1)

    def service_link(self):
        """Feed received bytes to the session, notify the answer (main loop)."""
        if not self.adapter.connected:
            self.session = None
            return False
        if self.session is None:
            self.session = self.new_session()
        n = self.inbox.in_waiting
        if n:
            reply = self.session.feed(self.inbox.read(n))
            for i in range(0, len(reply), PIECE):
                self.tx.value = reply[i : i + PIECE]
        return True
