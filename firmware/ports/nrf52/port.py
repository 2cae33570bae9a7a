"""The nRF52840 port object (CircuitPython): `_bleio` radio, `aesio`, the board LED.

CircuitPython's file system is FAT: `boot.py` remounts it writable for the
token (the USB drive becomes read-only to the computer) unless the button is
held at reset. Scanning is a blocking iterator in `_bleio`, so the main loop
(`app.py`) runs one window at a time.

CircuitPython refuses to scan while the user's own code advertises
(ports/nordic/common-hal/_bleio/Adapter.c common_hal_bleio_adapter_start_scan:
check_nrf_error(NRF_ERROR_BUSY), "Unknown system firmware error: 0011",
adafruit/circuitpython#6012), so `Radio.scan_window` stops the HELLO advert
for the window and starts it again, unchanged and from the same address,
right after. With the default schedule (a 600 ms window every 60 s) that is
1 % of the advertising time (`bench/bench_nrf52.py` measures it).
"""

import os

import _bleio
import aesio
import analogio
import board
import digitalio
import supervisor
from robert_token.vfs_storage import VfsStorage

ADAPTER_NAME = "ROBERT"  # the GAP device name a connected central can read: the same on every token


class Clock:
    """`supervisor.ticks_ms`: wraps every 2^29 ms (shared-bindings/supervisor/__init__.c)."""

    ticks_period = 1 << 29

    def ticks_ms(self):
        return supervisor.ticks_ms()


class Radio:
    """Connectable HELLO advertising from the core's random static address; scan windows on demand.

    The HELLO advert is connectable (phones connect and write their HELLO into
    the FD64 exchange characteristic, `exchange.py`) with no scan response:
    no name, no serial. A central's connection stops it (Adapter.c
    advertising_on_ble_evt), so `resume` restarts it.
    """

    gatt_exchange = True  # this port runs the FD64 exchange service: the core asks for connectable HELLOs

    def __init__(self, adapter):
        self.adapter = adapter
        self.scan_cfg = None
        self.current = None  # (addr6, adv_data, interval_ms, connectable) the core asked for, or None
        self.paused = False  # sync mode owns the advertising set
        self.restarts = 0

    def advertise(self, addr6, adv_data, interval_ms, connectable=False):
        self.current = None if addr6 is None else (bytes(addr6), bytes(adv_data), interval_ms, connectable)
        if not self.paused:
            self._apply()

    def _apply(self):
        if self.adapter.advertising:
            self.adapter.stop_advertising()
        if self.current is None:
            return
        addr6, data, interval_ms, connectable = self.current
        # _bleio addresses are least significant byte first; the address cannot change while
        # advertising or scanning (sd_ble_gap_addr_set), so it is set with the advertising stopped.
        self.adapter.address = _bleio.Address(bytes(reversed(addr6)), _bleio.Address.RANDOM_STATIC)
        self.adapter.start_advertising(data, connectable=connectable, interval=interval_ms / 1000)

    def resume(self):
        """Start the HELLO advert again if a connection (or anything) stopped it; True if it did."""
        if self.paused or self.current is None or self.adapter.advertising:
            return False
        self._apply()
        self.restarts += 1
        return True

    def scan(self, window_ms, interval_ms):
        self.scan_cfg = (window_ms, interval_ms) if window_ms else None

    def scan_window(self, on_entry):
        """Listen for one window (blocking), the HELLO advert off meanwhile; hand each advert to `on_entry`."""
        cfg = self.scan_cfg
        if cfg is None:
            return
        window_s = cfg[0] / 1000
        if self.adapter.advertising:
            self.adapter.stop_advertising()
        try:
            for entry in self.adapter.start_scan(timeout=window_s, interval=window_s, window=window_s,
                                                 active=False, minimum_rssi=-127, buffer_size=1024):
                on_entry(bytes(reversed(entry.address.address_bytes)), bytes(entry.advertisement_bytes),
                         entry.rssi, supervisor.ticks_ms())
        finally:
            self.adapter.stop_scan()
            if not self.paused and self.current is not None:
                self._apply()


class AesEcb:
    def __init__(self, key):
        self._aes = aesio.AES(bytes(key), aesio.MODE_ECB)
        self._out = bytearray(16)

    def encrypt(self, block):
        self._aes.encrypt_into(bytes(block), self._out)
        return bytes(self._out)


class Led:
    """The board LED drawn from the pattern's (on ms, period ms); `update` says when the next edge is."""

    PATTERNS = {"ok": (20, 10000), "sync_needed": (200, 2000), "at_risk": (1000, 2000),
                "not_provisioned": (100, 500), "clock_unset": (100, 1000), "busy": (1, 1)}
    STEADY_MS = 60000  # a steady pattern has no edge: look again in a minute (or at the next show)

    def __init__(self):
        self.pin = digitalio.DigitalInOut(board.LED)
        self.pin.direction = digitalio.Direction.OUTPUT
        self.pattern = "not_provisioned"

    def show(self, pattern):
        self.pattern = pattern

    def update(self, now=None):
        """Set the LED for `now` (ticks ms); return the ms until it must change."""
        on, period = self.PATTERNS.get(self.pattern, (0, 1000))
        if on >= period or on <= 0:
            self.pin.value = on > 0
            return self.STEADY_MS
        phase = (supervisor.ticks_ms() if now is None else now) % period
        self.pin.value = phase < on
        return on - phase if phase < on else period - phase


class Nrf52Port:
    model = "nrf52840"

    def __init__(self, root="/rt"):
        self.storage = VfsStorage(root)
        self.clock = Clock()
        adapter = _bleio.adapter
        try:
            adapter.name = ADAPTER_NAME  # not "CIRCUITPYxxxx" from the factory address (Adapter.c)
        except (AttributeError, ValueError):
            pass
        self.radio = Radio(adapter)
        self.led = Led()
        self.serial = None
        self._vbat = analogio.AnalogIn(board.VOLTAGE_MONITOR) if hasattr(board, "VOLTAGE_MONITOR") else None

    def aes_ecb(self, key):
        return AesEcb(key)

    def battery_mv(self):
        if self._vbat is None:
            return 0
        return self._vbat.value * 3300 * 2 // 65535  # 1:2 divider (Feather nRF52840)

    def random(self, n):
        return os.urandom(n)
