"""The radio of a host token without `--air`: nobody hears it, it hears nobody.

It keeps what the core asked for, so INFO and the log still show what a real
radio would be doing.
"""

import logging

log = logging.getLogger("robert_token.radio")


class SilentRadio:
    """The port's `radio` when there is no virtual air."""

    gatt_exchange = True  # it would accept FD64 writes; nobody is there to make them

    def __init__(self):
        self.advertising = None  # (addr6, adv_data, interval_ms) or None
        self.scanning = None  # (window_ms, interval_ms) or None
        self.connectable = False

    def advertise(self, addr6, adv_data=None, interval_ms=None, connectable=False):
        self.advertising = None if addr6 is None else (bytes(addr6), bytes(adv_data), interval_ms)
        self.connectable = addr6 is not None and bool(connectable)
        if addr6 is None:
            log.info("advertising stopped")
        else:
            log.debug("advertising from %s every %s ms", bytes(addr6).hex(), interval_ms)

    def scan(self, window_ms, interval_ms=None):
        self.scanning = None if not window_ms else (window_ms, interval_ms)
        log.debug("scan %s", self.scanning)
