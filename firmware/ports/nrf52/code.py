"""nRF52840 token main loop (CircuitPython): USB sync on `usb_cdc.data`, scan windows, tick.

Pressing the button starts BLE sync mode for two minutes (connectable
advertising with the sync service; HELLOs pause meanwhile).
"""

import time

import _bleio
import board
import digitalio
import supervisor
import usb_cdc
from gatt import SYNC_WINDOW_MS, GattSync
from port import Nrf52Port
from robert_token.sync import Session
from robert_token.token import Token

HALF = 1 << 28
PERIOD = 1 << 29


def after(now, t):
    """True when ticks `now` is at or after ticks `t` (supervisor.ticks_ms wraps at 2^29)."""
    return (now - t) % PERIOD < HALF


def button():
    pin = getattr(board, "BUTTON", None) or getattr(board, "SWITCH", None)
    if pin is None:
        return None
    b = digitalio.DigitalInOut(pin)
    b.switch_to_input(pull=digitalio.Pull.UP)
    return b


def main():
    port = Nrf52Port()
    token = Token(port)
    usb = Session(token) if usb_cdc.data is not None else None
    gatt = GattSync(_bleio.adapter, lambda: Session(token))
    key = button()
    due = next_scan = supervisor.ticks_ms()
    sync_until = None
    while True:
        now = supervisor.ticks_ms()
        if usb is not None and usb_cdc.data.in_waiting:
            reply = usb.feed(usb_cdc.data.read(usb_cdc.data.in_waiting))
            if reply:
                usb_cdc.data.write(reply)
            due = now
        if key is not None and not key.value and sync_until is None:
            gatt.start_sync_mode(token.info()["serial"] or "RT-TOKEN")
            sync_until = (now + SYNC_WINDOW_MS) % PERIOD
        if sync_until is not None:
            if gatt.service_link():
                sync_until = (now + SYNC_WINDOW_MS) % PERIOD
            elif after(now, sync_until):
                sync_until = None
                token.epoch = None  # back to HELLOs: re-advertise at the next tick
                due = now
        else:
            if port.radio.scan_cfg is not None and after(now, next_scan):
                port.radio.scan_window(token.on_advert)
                next_scan = (now + port.radio.scan_cfg[1]) % PERIOD
            if after(now, due):
                due = (now + token.tick()) % PERIOD
        port.led.update()
        time.sleep(0.05)


main()
