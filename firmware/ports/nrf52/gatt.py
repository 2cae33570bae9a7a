"""The BLE GATT sync service on nRF52840 (CircuitPython `_bleio`).

The radio has one advertising set, so the kiosk finds the token in sync
mode (button pressed): the token then advertises connectably with the sync
service UUID for `SYNC_WINDOW_MS` instead of its HELLO. Outside sync mode
the service still exists (CircuitPython cannot remove a service) but what
is written to it is thrown away: only a kiosk in sync mode gets a session.

Sizes follow CircuitPython's nordic code: the ATT MTU is negotiated up to
512 (ports/nordic/common-hal/_bleio/Connection.c, EXCHANGE_MTU_REQUEST:
min(BLE_GATTS_VAR_ATTR_LEN_MAX, client RX MTU)), so a central writes up to
509 bytes at once and RX takes the maximal 512 (a longer write than
`max_length` is refused by the SoftDevice and lost). The inbox holds two
maximal frames (a full ring drops new bytes, CharacteristicBuffer.c
write_to_ringbuf). Notifications are cut to the smallest negotiated
`max_packet_length` of the connections (MTU - 3): sd_ble_gatts_hvx refuses
a longer one (NRF_ERROR_DATA_SIZE).
"""

import _bleio
from robert_token import frame, gatt_profile

SYNC_WINDOW_MS = 120000
ATT_VALUE_MAX = 512  # BLE_GATTS_VAR_ATTR_LEN_MAX (ble_gatts.h)
MAX_FRAME = frame.MAX_PAYLOAD + 12  # 2060: header, the largest payload, CRC
INBOX = 2 * MAX_FRAME
NAME_MAX = 29  # a 31-byte scan response holds one AD structure of 2 + 29 bytes
# SERVICE least significant byte first, as a literal (no bytes.fromhex / reversed needed)
_SERVICE_LE = b"\x54\x52\x45\x42\x4f\x52\x6c\x9f\x4a\x4d\x53\x8b\x01\x00\x0a\x6e"


def _sync_advert(name):
    """(advert, scan response): the sync service UUID, then the name, cut to fit 31 bytes."""
    flags = b"\x02\x01\x06"
    uuids = bytes((17, 0x07)) + _SERVICE_LE
    raw = name.encode()
    if len(raw) > NAME_MAX:
        return flags + uuids, bytes((NAME_MAX + 1, 0x08)) + raw[:NAME_MAX]  # 0x08: shortened name
    return flags + uuids, bytes((len(raw) + 1, 0x09)) + raw


class GattSync:
    """One `Session` per kiosk connection in sync mode: written bytes in, answers notified in pieces."""

    def __init__(self, adapter, new_session):
        self.adapter = adapter
        self.new_session = new_session
        self.service = _bleio.Service(_bleio.UUID(gatt_profile.SYNC_SERVICE_UUID))
        self.rx = _bleio.Characteristic.add_to_service(
            self.service, _bleio.UUID(gatt_profile.SYNC_RX_UUID), properties=_bleio.Characteristic.WRITE_NO_RESPONSE,
            write_perm=_bleio.Attribute.OPEN, read_perm=_bleio.Attribute.NO_ACCESS,
            max_length=ATT_VALUE_MAX, fixed_length=False)
        self.tx = _bleio.Characteristic.add_to_service(
            self.service, _bleio.UUID(gatt_profile.SYNC_TX_UUID), properties=_bleio.Characteristic.NOTIFY,
            read_perm=_bleio.Attribute.OPEN, write_perm=_bleio.Attribute.NO_ACCESS,
            max_length=ATT_VALUE_MAX, fixed_length=False)
        self.inbox = _bleio.CharacteristicBuffer(self.rx, buffer_size=INBOX, timeout=0)
        self.session = None
        self.active = False

    def start_sync_mode(self, name):
        """Advertise connectably with the sync service (the HELLO pauses)."""
        self.active = True
        self.advertise(name)

    def advertise(self, name):
        if self.adapter.advertising:
            self.adapter.stop_advertising()
        adv, scan_response = _sync_advert(name)
        self.adapter.start_advertising(adv, scan_response=scan_response, connectable=True, interval=0.1)

    def stop_sync_mode(self):
        self.active = False
        self.session = None
        if self.adapter.advertising:
            self.adapter.stop_advertising()

    def piece(self):
        """The largest notification every connected central can take (MTU - 3)."""
        n = ATT_VALUE_MAX
        for c in self.adapter.connections:
            n = min(n, c.max_packet_length)
        return n

    def service_link(self):
        """Feed received bytes to the session, notify the answer (main loop). True while a kiosk is linked."""
        if not self.active or not self.adapter.connected:
            self.session = None
            if self.inbox.in_waiting:
                self.inbox.reset_input_buffer()  # not in sync mode: nobody's session
            return False
        if self.session is None:
            self.session = self.new_session()
        n = self.inbox.in_waiting
        if n:
            reply = self.session.feed(self.inbox.read(n))
            step = self.piece()
            for i in range(0, len(reply), step):
                self.tx.value = reply[i : i + step]
        return True
