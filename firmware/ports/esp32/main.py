"""ESP32 token main loop: copy robert_token/ and this folder's files to the board's root.

USB sync uses the REPL's USB-serial with Ctrl-C disabled (frames are binary);
hold the BOOT button at reset to skip the token and get the REPL back.
"""

import select
import sys
import time

import bluetooth
import machine
import micropython
from gatt import SYNC_WINDOW_MS, GattSync
from port import Esp32Port
from robert_token.sync import Session
from robert_token.token import Token

IDLE_MS = 50


def main():
    boot = machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP)
    if boot.value() == 0:
        print("BOOT held: token not started")
        return
    ble = bluetooth.BLE()
    ble.active(True)
    port = Esp32Port(ble)
    token = Token(port)
    gatt = GattSync(ble, lambda: Session(token))

    def irq(event, data):
        port.radio.on_irq(event, data)
        gatt.on_irq(event, data)

    ble.irq(irq)
    usb = Session(token)
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    micropython.kbd_intr(-1)
    out = sys.stdout.buffer
    due = time.ticks_ms()
    sync_until = None
    while True:
        got = bytearray()
        while len(got) < 256 and poll.poll(0):
            got.extend(sys.stdin.buffer.read(1))
        if got:
            out.write(usb.feed(got))
            due = time.ticks_ms()
        while port.radio.queue:
            addr, data, rssi, ticks = port.radio.queue.pop(0)
            token.on_advert(addr, data, rssi, ticks)
        gatt.service()
        now = time.ticks_ms()
        if boot.value() == 0 and sync_until is None:
            gatt.start_sync_mode(token.info()["serial"] or "RT-TOKEN")
            sync_until = time.ticks_add(now, SYNC_WINDOW_MS)
        if sync_until is not None:
            if gatt.conn is not None:
                sync_until = time.ticks_add(now, SYNC_WINDOW_MS)
            elif time.ticks_diff(now, sync_until) >= 0:
                sync_until = None
                token.epoch = None  # back to HELLOs: re-advertise now
                port.radio._addr = None
                due = now
        else:
            port.radio.service()
            if time.ticks_diff(now, due) >= 0:
                due = time.ticks_add(now, token.tick())
        port.led.update()
        time.sleep_ms(IDLE_MS)


main()
