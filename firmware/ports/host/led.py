"""The LED of a host token: no GUI, the pattern goes to the log and to INFO."""

import logging

log = logging.getLogger("robert_token.led")


class LogLed:
    """The port's `led`: remembers the current pattern and logs every change."""

    def __init__(self):
        self.pattern = None
        self.changes = 0

    def show(self, pattern: str) -> None:
        if pattern != self.pattern:
            log.info("LED %s", pattern)
            self.changes += 1
        self.pattern = pattern
