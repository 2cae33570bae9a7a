"""Double of CircuitPython's `usb_cdc` (shared-module/usb_cdc/__init__.c, Serial.c).

- `data` is None unless boot.py called `enable(data=True)`: the module
  dict entry is set by `common_hal_usb_cdc_enable` (usb_cdc_set_data), which
  refuses once USB is connected ("Cannot change USB devices now",
  shared-bindings/usb_cdc/__init__.c). USB connects after boot.py, and
  boot.py runs only after a hard reset (main.c run_boot_py, outside the
  reload loop): after an auto-reload `data` keeps what the last hard reset gave.
- The RX FIFO holds CFG_TUD_CDC_RX_BUFSIZE = 1024 bytes (ports/nordic/Makefile);
  USB is flow-controlled, so what the host sends beyond it waits on the
  host (TinyUSB NAKs the OUT endpoint) instead of being dropped.
- Serial `timeout` and `write_timeout` default to -1.0, wait forever
  (usb_cdc_data_obj in __init__.c): `read(n)` with fewer than n bytes waiting
  and `write` to a host that does not read block for good.
"""

import supervisor

RX_FIFO = 1024


class Hang(Exception):
    """The call would block forever on a board."""


class Serial:
    def __init__(self):
        self.timeout = -1.0
        self.write_timeout = -1.0
        self.rx = bytearray()  # bytes the host sent, not read yet
        self.tx = bytearray()  # bytes the token wrote
        self.host_reading = True
        self.host_pending = bytearray()  # sent by the host, held back by flow control
        self.max_waiting = 0

    def sim_host_send(self, data):
        self.host_pending.extend(bytes(data))
        self._refill()

    def _refill(self):
        room = RX_FIFO - len(self.rx)
        if room > 0 and self.host_pending:
            self.rx.extend(self.host_pending[:room])
            self.host_pending = self.host_pending[room:]
        self.max_waiting = max(self.max_waiting, len(self.rx))

    @property
    def in_waiting(self):
        self._refill()
        return len(self.rx)

    @property
    def connected(self):
        return supervisor.runtime.serial_connected

    def read(self, n=None):
        if n is None:
            n = len(self.rx)
        if n > len(self.rx):
            # Serial.c common_hal_usb_cdc_serial_read: waits up to `timeout` for the rest
            if self.timeout < 0:
                raise Hang("usb_cdc read of %d bytes with %d waiting and timeout -1" % (n, len(self.rx)))
            if self.timeout > 0:
                supervisor.sim_advance(int(self.timeout * 1000))
        out = bytes(self.rx[:n])
        self.rx = self.rx[len(out):]
        self._refill()
        return out

    def write(self, b):
        if not self.host_reading:
            if self.write_timeout < 0:
                raise Hang("usb_cdc write to a host that does not read, write_timeout -1")
            supervisor.sim_advance(int(self.write_timeout * 1000))
            return 0
        self.tx.extend(bytes(b))
        return len(b)

    def reset_input_buffer(self):
        self.rx = bytearray()


console = Serial()
data = None
_state = {"boot": True, "data": False, "console": True}
_data_obj = Serial()


def enable(console=True, data=False):
    if not _state["boot"]:
        raise RuntimeError("Cannot change USB devices now")
    _state["console"] = console
    _state["data"] = data
    g = globals()
    g["data"] = _data_obj if data else None


def disable():
    enable(console=False, data=False)


def sim_hard_reset():
    """Power-up defaults (usb_cdc_set_defaults: console on, data off), before boot.py."""
    global _data_obj
    _state["boot"] = True
    _data_obj = Serial()
    g = globals()
    g["data"] = None
    _state["data"] = False


def sim_usb_connected():
    """USB enumerates after boot.py: no more changes to the devices."""
    _state["boot"] = False
    supervisor.runtime.usb_connected = True
    supervisor.runtime.serial_connected = True
