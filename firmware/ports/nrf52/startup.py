"""Start-up checks of the nRF52 token (plain Python, importable before any .mpy).

- CircuitPython 10 or later: the shipped .mpy files come from CircuitPython
  10's mpy-cross (.mpy version 6, `C` header); 9.x runs the .py sources.
- `hashlib`: CircuitPython's has only `hashlib.new("sha256")`
  (shared-bindings/hashlib/__init__.c), which the core uses when present;
  without it HMAC runs in pure Python (much slower: HELLOs still work).
- `usb_cdc.data`: enabled by boot.py, which runs only after a hard reset
  (main.c run_boot_py runs once, before the reload loop). Right after files
  were copied (auto-reload) `data` is still None: reset the board once, for
  real, so boot.py runs (microcontroller.reset()).
- The flash must be writable by the token: boot.py leaves it to the computer
  when the button is held at reset (maintenance: the drive can be edited).
"""

import sys

import storage
import supervisor
import usb_cdc

MIN_VERSION = (9, 0, 0)
MPY_VERSION = (10, 0, 0)
report = []


def _version():
    return tuple(sys.implementation.version[:3])


def has_hashlib():
    try:
        import hashlib

        if hasattr(hashlib, "sha256"):
            return True
        hashlib.new("sha256", b"").digest()  # CircuitPython's only way in
        return True
    except (ImportError, AttributeError, ValueError):
        return False


def check():
    """True when the token can run; `report` says what was found (printed on the console)."""
    del report[:]
    v = _version()
    report.append("CircuitPython %d.%d.%d" % v)
    if v < MIN_VERSION:
        report.append("needs CircuitPython 9 or later (10 for the .mpy build): update it")
        return False
    report.append("hashlib sha256: " + ("native" if has_hashlib() else "missing, pure-Python HMAC (slow)"))
    if usb_cdc.data is None and supervisor.runtime.run_reason != supervisor.RunReason.STARTUP:
        # files were copied and CircuitPython auto-reloaded code.py: boot.py has not run yet
        report.append("usb_cdc.data is off until boot.py runs: hard reset")
        print("\n".join(report))
        import microcontroller

        microcontroller.reset()
    if storage.getmount("/").readonly:
        report.append("maintenance: the flash is the computer's (button held at reset); press reset to run")
        return False
    if usb_cdc.data is None:
        report.append("usb_cdc.data is off: USB sync unavailable (boot.py did not enable it)")
    return True


def maintenance():
    """The token does not run: say why and blink slowly (no writes: the drive is the computer's)."""
    import time

    import board
    import digitalio

    print("\n".join(report))
    led = digitalio.DigitalInOut(board.LED)
    led.direction = digitalio.Direction.OUTPUT
    while True:
        led.value = not led.value
        time.sleep(0.5)
