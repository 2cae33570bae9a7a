"""CircuitPython boot (runs only after a hard reset): the USB data port, and who owns the flash.

Normally the token owns the flash (`storage.remount("/", readonly=False)`):
the CIRCUITPY drive is then read-only to the computer. Hold the board's
button while pressing reset to leave it to the computer instead
(maintenance: the files can be replaced, the token does not run; press
reset again to run it). CircuitPython's safe mode (reset pressed again
during the start-up blink) also skips this file.
"""

import board
import digitalio
import storage
import usb_cdc

usb_cdc.enable(console=True, data=True)
pin = getattr(board, "BUTTON", None) or getattr(board, "SWITCH", None)
held = False
if pin is not None:
    key = digitalio.DigitalInOut(pin)
    key.switch_to_input(pull=digitalio.Pull.UP)
    held = not key.value
    key.deinit()
if held:
    print("robert boot: button held, the drive stays writable by the computer (maintenance)")
else:
    storage.remount("/", readonly=False)
    print("robert boot: the token owns the flash")
