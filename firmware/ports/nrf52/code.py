"""nRF52840 token main loop (CircuitPython): USB sync on `usb_cdc.data`, scan windows, tick."""

import time

import supervisor
import usb_cdc
from port import Nrf52Port
from robert_token.sync import Session
from robert_token.token import Token


def main():
    port = Nrf52Port()
    token = Token(port)
    usb = Session(token) if usb_cdc.data is not None else None
    due = supervisor.ticks_ms()
    next_scan = due
    while True:
        if usb is not None and usb_cdc.data.in_waiting:
            reply = usb.feed(usb_cdc.data.read(usb_cdc.data.in_waiting))
            if reply:
                usb_cdc.data.write(reply)
            due = supervisor.ticks_ms()
        now = supervisor.ticks_ms()
        if port.radio.scan_cfg is not None and (now - next_scan) % (1 << 29) < (1 << 28):
            port.radio.scan_window(token.on_advert)
            next_scan = (now + port.radio.scan_cfg[1]) % (1 << 29)
        if (now - due) % (1 << 29) < (1 << 28):
            due = (now + token.tick()) % (1 << 29)
        port.led.update()
        time.sleep(0.05)


main()
