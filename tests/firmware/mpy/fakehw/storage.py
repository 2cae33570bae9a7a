"""Double of CircuitPython's `storage.remount` / `getmount` (shared-module/storage/__init__.c).

- After a reset CIRCUITPY is writable by USB and read-only to Python
  (main.c: filesystem_set_internal_writable_by_usb before boot.py).
- `remount("/", readonly=False)` makes it writable by Python and read-only
  to the computer (filesystem_set_writable_by_usb(fs, readonly)). It is
  always allowed in boot.py; afterwards it raises "Cannot remount path when
  visible via USB." while the host sees the drive (blockdev_lock).
- A path that is not a mount point raises OSError(EINVAL).
- `getmount("/").readonly` is True when Python cannot write
  (extmod/vfs_fat.c vfs_fat_getreadonly).
"""

_state = {"python_writable": False, "boot": True, "usb_visible": False}


class _Mount:
    @property
    def readonly(self):
        return not _state["python_writable"]


def remount(mount_path, readonly=False, disable_concurrent_write_protection=False):
    if mount_path.rstrip("/") != "":
        raise OSError(22, "EINVAL")
    if not _state["boot"] and _state["usb_visible"]:
        raise RuntimeError("Cannot remount path when visible via USB.")
    _state["python_writable"] = not readonly


def getmount(path):
    if path.rstrip("/") != "":
        raise OSError(22, "EINVAL")
    return _Mount()


def sim_hard_reset():
    _state["python_writable"] = False
    _state["boot"] = True
    _state["usb_visible"] = False


def sim_usb_connected():
    _state["boot"] = False
    _state["usb_visible"] = True
