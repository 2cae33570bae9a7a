"""Double of CircuitPython's `microcontroller.reset()` (shared-bindings/microcontroller/__init__.c).

A hard reset never returns; the double raises `HardReset` so that the test's
board model (tests/firmware/mpy/circuitpy.py) can boot again: boot.py then
code.py, as main.c does after a reset.
"""


class HardReset(BaseException):
    pass


resets = [0]


def reset():
    resets[0] += 1
    raise HardReset()
