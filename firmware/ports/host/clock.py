"""The token's hardware timer on a host.

The core reads `ticks_ms()` and keeps its real-time clock as ticks + an offset
set by SET_TIME, so the port only has to supply a timer that runs at the
token's (imperfect) rate. Ours counts NTP milliseconds of a base time (the
system clock, or the air's virtual time) shifted by `--clock-offset` and
running `--drift-ppm` fast or slow from a fixed anchor, so the timer is
continuous across restarts (a power cut does not make the host clock jump).
"""

import time

NTP_UNIX_DELTA = 2208988800  # seconds from 1900-01-01 to 1970-01-01
DRIFT_ANCHOR_NTP = 3976214400  # 2026-01-01T00:00:00Z: drift accumulates from here


def drifted(base_ntp: float, drift_ppm: float, offset_s: float) -> float:
    """Hardware time (NTP seconds) of a token whose crystal is `drift_ppm` off."""
    return base_ntp + (base_ntp - DRIFT_ANCHOR_NTP) * drift_ppm * 1e-6 + offset_s


class SystemClock:
    """Hardware timer driven by the system clock (no `--air`)."""

    continuous = True  # keeps counting through a power cut: the core may restore its time

    def __init__(self, drift_ppm: float = 0.0, offset_s: float = 0.0):
        self.drift_ppm = drift_ppm
        self.offset_s = offset_s

    def base_ntp(self) -> float:
        return time.time() + NTP_UNIX_DELTA

    def ticks_ms(self) -> int:
        return int(drifted(self.base_ntp(), self.drift_ppm, self.offset_s) * 1000)

    def seconds_for(self, ms: int) -> float:
        """Base-clock seconds the timer takes to count `ms` milliseconds."""
        return ms / 1000 / (1 + self.drift_ppm * 1e-6)


class AirClock(SystemClock):
    """Hardware timer driven by the air's virtual time (`--air`).

    It only moves when the air says so (`advance`), and never backwards.
    """

    def __init__(self, drift_ppm: float = 0.0, offset_s: float = 0.0):
        super().__init__(drift_ppm, offset_s)
        self.t = None  # virtual NTP seconds; None until the air's first `time`

    def advance(self, t: float) -> None:
        if self.t is None or t > self.t:
            self.t = t

    def base_ntp(self) -> float:
        if self.t is None:
            raise RuntimeError("the air has not told the virtual time yet")
        return self.t

    def ticks_at(self, t: float) -> int:
        """The timer's value at virtual time `t` (an advert's reception time)."""
        return int(drifted(t, self.drift_ppm, self.offset_s) * 1000)
