"""The server's one clock: system time plus an offset.

Nothing else in the server reads time, so `--clock-offset` (and, with
`--dev-admin`, `PUT /admin/clock`) moves every check, key and epoch together.
"""

from __future__ import annotations

import time

from robert import timeutil


class Clock:
    """Unix or NTP seconds, shifted by `offset` seconds."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = float(offset)

    def unix(self) -> float:
        return time.time() + self.offset

    def ntp(self) -> int:
        return timeutil.ntp_from_unix(self.unix())
