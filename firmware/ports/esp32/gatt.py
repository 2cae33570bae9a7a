"""The BLE GATT sync service on ESP32: frames in by write-without-response, out by notify.

One advertising set: the kiosk connects in sync mode (BOOT button pressed
while running), when the token advertises connectably with the sync service
UUID for `SYNC_WINDOW_MS` instead of its HELLO.
"""

import bluetooth
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_NOTIFY = const(0x0010)

SERVICE = bluetooth.UUID("6e0a0001-8b53-4d4a-9f6c-524f42455254")
RX = bluetooth.UUID("6e0a0002-8b53-4d4a-9f6c-524f42455254")
TX = bluetooth.UUID("6e0a0003-8b53-4d4a-9f6c-524f42455254")
SYNC_WINDOW_MS = const(120000)
# SERVICE least significant byte first, as a literal (no bytes.fromhex / reversed needed)
_SERVICE_LE = b"\x54\x52\x45\x42\x4f\x52\x6c\x9f\x4a\x4d\x53\x8b\x01\x00\x0a\x6e"


class GattSync:
    """One `Session` per connection; written bytes are queued for the main loop."""

    def __init__(self, ble, new_session):
        self.ble = ble
        self.new_session = new_session
        ((self.rx, self.tx),) = ble.gatts_register_services(
            ((SERVICE, ((RX, _FLAG_WRITE_NO_RESPONSE), (TX, _FLAG_NOTIFY))),))
        ble.gatts_set_buffer(self.rx, 512, True)
        self.conn = None
        self.session = None
        self.mtu = 23
        self.inbox = []

    def on_irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            self.session = self.new_session()
            self.mtu = 23
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self.conn = None
            self.session = None
            self.inbox = []
        elif event == _IRQ_GATTS_WRITE and data[1] == self.rx and len(self.inbox) < 16:
            self.inbox.append(bytes(self.ble.gatts_read(self.rx)))
        elif event == _IRQ_MTU_EXCHANGED:
            self.mtu = data[1]

    def start_sync_mode(self, name):
        """Advertise connectably with the sync service UUID and the serial as name."""
        adv = b"\x02\x01\x06" + bytes((17, 0x07)) + _SERVICE_LE
        resp = bytes((len(name) + 1, 0x09)) + name.encode()
        self.ble.gap_advertise(None)
        self.ble.gap_advertise(100000, adv_data=adv, resp_data=resp, connectable=True)

    def service(self):
        """Feed queued writes to the session and notify the answers (main loop)."""
        while self.inbox and self.session is not None:
            reply = self.session.feed(self.inbox.pop(0))
            step = self.mtu - 3
            for i in range(0, len(reply), step):
                self.ble.gatts_notify(self.conn, self.tx, reply[i : i + step])
