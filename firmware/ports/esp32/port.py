"""The ESP32 port object (MicroPython): radio over `bluetooth`, littlefs, `cryptolib`, a GPIO LED.

Thin by design: it implements the port interface of docs/architecture.md and
nothing else. Received adverts are queued by the IRQ handler (bounded) and
handed to the core from the main loop, never from the IRQ.
"""

import os
import time

import cryptolib
import machine
from micropython import const
from robert_token.vfs_storage import VfsStorage

_IRQ_SCAN_RESULT = const(5)
_ADDR_MODE_RANDOM = const(1)
RX_QUEUE = const(32)


class Clock:
    """The hardware timer: MicroPython's wrapping `ticks_ms`."""

    ticks_period = 1 << 30

    def ticks_ms(self):
        return time.ticks_ms()


class Radio:
    """Non-connectable advertising and passive scanning on the NimBLE stack.

    NimBLE keeps its random address until the address mode is applied again,
    so a new address (`addr6` changes) re-applies `addr_mode` before the
    next advertising set; the stack picks the new random address itself.
    """

    def __init__(self, ble):
        self.ble = ble
        self.queue = []
        self.dropped = 0
        self._addr = None
        self._scan = None
        self._next_scan = 0

    def advertise(self, addr6, adv_data, interval_ms):
        self.ble.gap_advertise(None)
        if addr6 is None:
            self._addr = None
            return
        if addr6 != self._addr:
            self.ble.config(addr_mode=_ADDR_MODE_RANDOM)
            self._addr = addr6
        self.ble.gap_advertise(interval_ms * 1000, adv_data=adv_data, connectable=False)

    def scan(self, window_ms, interval_ms):
        """Remember the duty cycle; `service()` opens the windows (controllers cap intervals at 10.24 s)."""
        self.ble.gap_scan(None)
        self._scan = (window_ms, interval_ms) if window_ms else None
        self._next_scan = time.ticks_ms()

    def service(self):
        """Start the next scan window when it is due (main loop)."""
        if self._scan is None or time.ticks_diff(time.ticks_ms(), self._next_scan) < 0:
            return
        window_ms, interval_ms = self._scan
        self.ble.gap_scan(window_ms, window_ms * 1000, window_ms * 1000, False)
        self._next_scan = time.ticks_add(self._next_scan, interval_ms)

    def on_irq(self, event, data):
        if event == _IRQ_SCAN_RESULT:
            _addr_type, addr, _adv_type, rssi, adv_data = data
            if len(self.queue) >= RX_QUEUE:
                self.dropped += 1
                return
            self.queue.append((bytes(addr), bytes(adv_data), rssi, time.ticks_ms()))


class Led:
    """One LED; patterns are blink rhythms (on ms, period ms) run by the main loop."""

    PATTERNS = {"ok": (20, 10000), "sync_needed": (200, 2000), "at_risk": (1000, 2000),
                "not_provisioned": (100, 500), "clock_unset": (100, 1000), "busy": (1, 1)}

    def __init__(self, pin=2):
        self.pin = machine.Pin(pin, machine.Pin.OUT)
        self.pattern = "not_provisioned"

    def show(self, pattern):
        self.pattern = pattern

    def update(self):
        on, period = self.PATTERNS.get(self.pattern, (0, 1000))
        self.pin.value(1 if time.ticks_ms() % period < on else 0)


class Esp32Port:
    """storage, clock, radio, led, aes_ecb, battery_mv, random of an ESP32 token."""

    model = "esp32"

    def __init__(self, ble, battery_pin=35, led_pin=2, root="/rt"):
        self.storage = VfsStorage(root)
        self.clock = Clock()
        self.radio = Radio(ble)
        self.led = Led(led_pin)
        self.serial = None
        self._adc = machine.ADC(machine.Pin(battery_pin))
        self._adc.atten(machine.ADC.ATTN_11DB)

    def aes_ecb(self, key):
        return cryptolib.aes(key, 1)

    def battery_mv(self):
        return self._adc.read_uv() * 2 // 1000  # 1:2 divider on the battery

    def random(self, n):
        return os.urandom(n)
