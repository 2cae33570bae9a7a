"""A CircuitPython board made of the fakehw doubles: hard reset (boot.py), auto-reload, the drive.

main.c: after a reset CircuitPython sets the defaults (CIRCUITPY writable by
USB, `usb_cdc.data` off), runs boot.py once, connects USB, then runs code.py;
an auto-reload (files saved over USB) runs code.py again without boot.py.
"""

import sys

HERE = __file__.rsplit("/", 1)[0]
NRF = HERE + "/../../../firmware/ports/nrf52"
if HERE + "/fakehw" not in sys.path:
    sys.path.insert(0, HERE + "/fakehw")
if NRF not in sys.path:
    sys.path.insert(0, NRF)

import _bleio  # noqa: E402
import digitalio  # noqa: E402
import storage  # noqa: E402
import supervisor  # noqa: E402
import usb_cdc  # noqa: E402


def hard_reset(boot_py=NRF + "/boot.py", button_held=False):
    """Power-up defaults, boot.py (if any), USB connected; returns boot.py's printed lines' count."""
    supervisor.runtime.sim_reset()  # run_reason STARTUP, BLE workflow back on
    usb_cdc.sim_hard_reset()
    storage.sim_hard_reset()
    _bleio.adapter.sim_reset()
    digitalio.sim_press("BUTTON", button_held)
    if boot_py is not None:
        with open(boot_py) as f:
            src = f.read()
        exec(src, {"__name__": "__main__"})
    digitalio.sim_press("BUTTON", False)
    usb_cdc.sim_usb_connected()
    storage.sim_usb_connected()


def auto_reload():
    """Files were written over USB: code.py runs again, boot.py does not."""
    supervisor.runtime.run_reason = supervisor.RunReason.AUTO_RELOAD
    _bleio.adapter.sim_reset()  # bleio_user_reset: the user's advertising and scans stop
