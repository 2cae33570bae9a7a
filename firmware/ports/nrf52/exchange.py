"""The ROBERT exchange service on nRF52840: phones write their HELLO payload into it (GATT).

Service 0xFD64 with the WRITE characteristic of `robert_token.gatt_profile`
(the TousAntiCovid apps' `a8f12d00-...`): an iPhone that sees our HELLO
service data connects and writes HELLO || version || txPower. A
`PacketBuffer` keeps each write whole (ports/nordic/common-hal/_bleio/
PacketBuffer.c), so the main loop hands every payload to
`Token.on_hello_payload`.

RSSI: CircuitPython's `_bleio.Connection` has no RSSI (shared-bindings/
_bleio/Connection.c exposes none) and the connection's peer cannot be tied
to a scan report, so a written HELLO is logged with `GATT_RSSI`, a fixed
raw value: about what a phone gives at 2 m with the apps' calibration,
within the scoring's range. It is a stand-in, written down as such in
docs/firmware.md.
"""

import _bleio
import supervisor
from robert_token import gatt_profile

GATT_RSSI = -70
PACKETS = 8  # writes kept between two passes of the main loop


class Exchange:
    def __init__(self, on_payload):
        self.on_payload = on_payload
        self.service = _bleio.Service(_bleio.UUID(gatt_profile.EXCHANGE_SERVICE_UUID16))
        self.char = _bleio.Characteristic.add_to_service(
            self.service, _bleio.UUID(gatt_profile.EXCHANGE_CHAR_UUID), properties=_bleio.Characteristic.WRITE,
            read_perm=_bleio.Attribute.NO_ACCESS, write_perm=_bleio.Attribute.OPEN,
            max_length=gatt_profile.EXCHANGE_PAYLOAD_MAX, fixed_length=False)
        self.packets = _bleio.PacketBuffer(self.char, buffer_size=PACKETS,
                                           max_packet_size=gatt_profile.EXCHANGE_PAYLOAD_MAX)
        self._buf = bytearray(gatt_profile.EXCHANGE_PAYLOAD_MAX)
        self.kept = 0

    def service_writes(self):
        """Hand every payload written since the last call to the token; the number handed."""
        n = 0
        while True:
            got = self.packets.readinto(self._buf)
            if got == 0:
                return n
            if got < 0:
                continue  # longer than the buffer: PacketBuffer dropped it
            n += 1
            if self.on_payload(bytes(self._buf[:got]), GATT_RSSI, supervisor.ticks_ms()):
                self.kept += 1
