"""The radio of a host token without `--air`: nobody hears it, it hears nobody.

It keeps what the core asked for, so INFO and the log still show what a real
radio would be doing.
"""

import logging

log = logging.getLogger("robert_token.radio")


class SilentRadio:
    """The port's `radio` when there is no virtual air."""

    def __init__(self):
        self.advertising = None  # (addr6, adv_data, interval_ms) or None
        self.scanning = None  # (window_ms, interval_ms) or None

    def advertise(self, addr6, adv_data=None, interval_ms=None):
        self.advertising = None if addr6 is None else (bytes(addr6), bytes(adv_data), interval_ms)
        if addr6 is None:
            log.info("advertising stopped")
        else:
            log.debug("advertising from %s every %s ms", bytes(addr6).hex(), interval_ms)

    def scan(self, window_ms, interval_ms=None):
        self.scanning = None if not window_ms else (window_ms, interval_ms)
        log.debug("scan %s", self.scanning)
