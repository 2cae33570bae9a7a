"""CircuitPython boot: a binary USB data port for sync, and the flash writable by the token."""

import storage
import usb_cdc

usb_cdc.enable(console=True, data=True)
storage.remount("/", readonly=False)
