"""The nRF52840 port object (CircuitPython): `_bleio` radio, `aesio`, the board LED.

CircuitPython's file system is FAT: `boot.py` remounts it writable for the
token (the USB drive becomes read-only to the computer). Scanning is a
blocking iterator in `_bleio`, so the main loop runs one window at a time.
"""

import os

import _bleio
import aesio
import analogio
import board
import digitalio
import supervisor
from robert_token.vfs_storage import VfsStorage


class Clock:
    """`supervisor.ticks_ms`: wraps every 2^29 ms."""

    ticks_period = 1 << 29

    def ticks_ms(self):
        return supervisor.ticks_ms()


class Radio:
    """Non-connectable advertising from a given random static address; scan windows on demand."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.scan_cfg = None
        self.queue = []

    def advertise(self, addr6, adv_data, interval_ms):
        if self.adapter.advertising:
            self.adapter.stop_advertising()
        if addr6 is None:
            return
        # _bleio addresses are least significant byte first
        self.adapter.address = _bleio.Address(bytes(reversed(addr6)), _bleio.Address.RANDOM_STATIC)
        self.adapter.start_advertising(adv_data, connectable=False, interval=interval_ms / 1000)

    def scan(self, window_ms, interval_ms):
        self.scan_cfg = (window_ms, interval_ms) if window_ms else None

    def scan_window(self, on_entry):
        """Listen for one window (blocking) and hand each advert to `on_entry`."""
        window_ms = self.scan_cfg[0]
        for entry in self.adapter.start_scan(timeout=window_ms / 1000, interval=window_ms / 1000,
                                             window=window_ms / 1000, active=False,
                                             minimum_rssi=-127, buffer_size=1024):
            on_entry(bytes(reversed(entry.address.address_bytes)), bytes(entry.advertisement_bytes),
                     entry.rssi, supervisor.ticks_ms())
        self.adapter.stop_scan()


class AesEcb:
    def __init__(self, key):
        self._aes = aesio.AES(bytes(key), aesio.MODE_ECB)

    def encrypt(self, block):
        out = bytearray(16)
        self._aes.encrypt_into(bytes(block), out)
        return bytes(out)


class Led:
    PATTERNS = {"ok": (20, 10000), "sync_needed": (200, 2000), "at_risk": (1000, 2000),
                "not_provisioned": (100, 500), "clock_unset": (100, 1000), "busy": (1, 1)}

    def __init__(self):
        self.pin = digitalio.DigitalInOut(board.LED)
        self.pin.direction = digitalio.Direction.OUTPUT
        self.pattern = "not_provisioned"

    def show(self, pattern):
        self.pattern = pattern

    def update(self):
        on, period = self.PATTERNS.get(self.pattern, (0, 1000))
        self.pin.value = supervisor.ticks_ms() % period < on


class Nrf52Port:
    model = "nrf52840"

    def __init__(self, root="/rt"):
        self.storage = VfsStorage(root)
        self.clock = Clock()
        self.radio = Radio(_bleio.adapter)
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
