"""nRF52840 token main loop (CircuitPython): USB sync on `usb_cdc.data`, GATT, scan windows, tick.

The loop sleeps (`time.sleep`: mp_hal_delay_ms idles the CPU with WFI
between interrupts, supervisor/shared/tick.c) until the earliest of the
core's next due time (`token.tick()` returns ms), the next scan window, the
next LED edge and the end of the sync window. `_bleio` gives Python no event
to wait on, so while a central or the USB host may talk the sleep is capped:
`LINK_POLL_MS` while USB is connected (the board is then USB-powered) or a
central is linked, `ADV_CHECK_MS` otherwise (a phone's connection stops the
HELLO advert, Adapter.c advertising_on_ble_evt, and its written HELLO waits
in a PacketBuffer: both are handled within a second).
`alarm.light_sleep_until_alarms` idles the same way on nordic
(common-hal/alarm/__init__.c system_on_idle_until_alarm) and deep sleep
turns the radio off and restarts the VM, so neither applies while
advertising.

Pressing the button starts BLE sync mode for two minutes (connectable
advertising with the sync service; HELLOs pause meanwhile).
"""

import time

import _bleio
import board
import digitalio
import supervisor
import usb_cdc
from exchange import Exchange
from gatt import SYNC_WINDOW_MS, GattSync
from port import Nrf52Port
from robert_token.sync import Session
from robert_token.token import Token

HALF = 1 << 28
PERIOD = 1 << 29
LINK_POLL_MS = 20
ADV_CHECK_MS = 1000
USB_WRITE_TIMEOUT_S = 2.0  # write_timeout defaults to -1 (forever, shared-module/usb_cdc/__init__.c)
ERROR_PAUSE_S = 1.0
ERRORS_BEFORE_RESET = 10  # consecutive failed passes: reset the board rather than stay dead


def diff(a, b):
    """a - b in ticks (supervisor.ticks_ms wraps at 2^29)."""
    return ((a - b + HALF) % PERIOD) - HALF


def button():
    pin = getattr(board, "BUTTON", None) or getattr(board, "SWITCH", None)
    if pin is None:
        return None
    b = digitalio.DigitalInOut(pin)
    b.switch_to_input(pull=digitalio.Pull.UP)
    return b


class App:
    """One `step()` handles what is due and returns how long to sleep (ms); `run()` loops for good."""

    def __init__(self, port=None, token=None, sleep=None):
        self.port = port or Nrf52Port()
        self.token = token or Token(self.port)
        self.adapter = _bleio.adapter
        self.usb_port = usb_cdc.data
        self.usb = None
        if self.usb_port is not None:
            self.usb_port.timeout = 0  # reads never wait (default -1: forever)
            self.usb_port.write_timeout = USB_WRITE_TIMEOUT_S
            self.usb = Session(self.token)
        try:
            # CircuitPython's own BLE file workflow advertises a fixed name when enabled (bonded or
            # discovery mode, supervisor/shared/bluetooth/bluetooth.c): off until the next reset.
            supervisor.runtime.ble_workflow = False
        except (AttributeError, NotImplementedError):
            pass
        self.gatt = GattSync(self.adapter, lambda: Session(self.token))
        self.exchange = Exchange(self.token.on_hello_payload)
        self.key = button()
        self.sleep = sleep or time.sleep
        now = supervisor.ticks_ms()
        self.due = now
        self.next_scan = now
        self.sync_until = None
        self.wakes = 0
        self.errors = 0

    def serial(self):
        return self.token.info()["serial"] or "RT-TOKEN"

    def step(self):
        self.wakes += 1
        now = supervisor.ticks_ms()
        usb = self.usb_port
        if self.usb is not None and usb is not None and usb.in_waiting:
            reply = self.usb.feed(usb.read(usb.in_waiting))
            if reply:
                usb.write(reply)
            self.due = now
        self.exchange.service_writes()
        radio = self.port.radio
        if self.key is not None and not self.key.value and self.sync_until is None:
            radio.paused = True
            self.gatt.start_sync_mode(self.serial())
            self.sync_until = (now + SYNC_WINDOW_MS) % PERIOD
        if self.sync_until is not None:
            if self.gatt.service_link():
                self.sync_until = (now + SYNC_WINDOW_MS) % PERIOD
            elif diff(now, self.sync_until) >= 0:
                self.sync_until = None
                self.gatt.stop_sync_mode()
                radio.paused = False
                self.token.epoch = None  # back to HELLOs with a new address at this tick
                self.due = now
            elif not self.adapter.advertising:
                self.gatt.advertise(self.serial())  # the kiosk left (its connection stopped the advert)
        else:
            self.gatt.service_link()  # drops what a stranger wrote outside sync mode
            if radio.scan_cfg is not None and diff(now, self.next_scan) >= 0:
                radio.scan_window(self.token.on_advert)
                self.next_scan = (now + radio.scan_cfg[1]) % PERIOD
            now = supervisor.ticks_ms()
            if diff(now, self.due) >= 0:
                self.due = (now + self.token.tick()) % PERIOD
            radio.resume()  # a phone's connection stopped the HELLO advert
        now = supervisor.ticks_ms()
        waits = [self.port.led.update(now), diff(self.due, now)]
        if self.sync_until is not None:
            waits.append(diff(self.sync_until, now))
        elif radio.scan_cfg is not None:
            waits.append(diff(self.next_scan, now))
        if supervisor.runtime.usb_connected or self.adapter.connected or self.sync_until is not None:
            waits.append(LINK_POLL_MS)
        elif radio.current is not None:
            waits.append(ADV_CHECK_MS)
        return max(1, min(waits))

    def run(self, passes=None):
        """Loop for good (`passes` bounds it for tests). A pass that raises is reported on the
        console and retried a second later; ten in a row reset the board (microcontroller.reset)."""
        failed = 0
        while passes is None or passes > 0:
            if passes is not None:
                passes -= 1
            try:
                ms = self.step()
                failed = 0
            except Exception as e:  # a dead loop is a token that stops advertising for good
                self.errors += 1
                failed += 1
                print("token loop error:", repr(e))
                if failed >= ERRORS_BEFORE_RESET:
                    import microcontroller

                    microcontroller.reset()
                ms = ERROR_PAUSE_S * 1000
            self.sleep(ms / 1000)
