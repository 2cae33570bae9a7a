"""The token's real-time clock: the port's hardware ticks plus an offset set by SET_TIME.

Device timers wrap (MicroPython's `ticks_ms` period), so elapsed time is
accumulated from tick differences at every read. Successive SET_TIMEs give the
crystal's drift, which is then compensated. The last setting is saved so that
a port whose timer keeps running through a reset (the host, an RTC domain;
`port.clock.continuous = True`) keeps its time after a power cut; on other
ports the clock is unset again after a reset, and the token stops advertising.
"""

import json

from robert_token import flashfile

FILE = "clock.json"
MIN_DRIFT_SPAN_S = 600  # a drift estimate needs sets at least this far apart
MAX_DRIFT_PPM = 500.0


class Clock:
    """NTP time of the token, or None when it was never set."""

    def __init__(self, hw, storage=None):
        self._hw = hw
        self._storage = storage
        self._period = getattr(hw, "ticks_period", None)
        self._last_ticks = hw.ticks_ms()
        self._elapsed_ms = 0  # monotonic ms since boot, wrap-free
        self._set_ntp_ms = None  # NTP ms at the last set
        self._set_elapsed = 0  # elapsed ms at the last set
        self.drift_ppm = 0.0
        self.last_set = None
        self.sets = 0
        self._restore()

    def _advance(self):
        now = self._hw.ticks_ms()
        d = now - self._last_ticks
        if d < 0 and self._period:
            d += self._period
        if d > 0:
            self._elapsed_ms += d
        self._last_ticks = now
        return self._elapsed_ms

    def elapsed_ms(self):
        """Milliseconds since boot, never going back."""
        return self._advance()

    def elapsed_at(self, ticks):
        """Elapsed ms at a hardware tick value in the recent past or present (an advert's time)."""
        now = self._advance()
        d = self._last_ticks - ticks
        if d < 0 and self._period:
            d += self._period
        return now - max(0, d)

    @property
    def is_set(self):
        return self._set_ntp_ms is not None

    def ntp_ms_at(self, elapsed):
        if self._set_ntp_ms is None:
            return None
        span = elapsed - self._set_elapsed
        return self._set_ntp_ms + span + int(span * self.drift_ppm / 1000000)

    def ntp_ms(self):
        return self.ntp_ms_at(self._advance())

    def ntp(self):
        """Current NTP seconds (int), or None when unset."""
        ms = self.ntp_ms()
        return None if ms is None else ms // 1000

    def ntp_at_ticks(self, ticks):
        ms = self.ntp_ms_at(self.elapsed_at(ticks))
        return None if ms is None else ms // 1000

    def set(self, ntp):
        """Set the clock to `ntp` seconds; returns (before, correction, drift_ppm)."""
        elapsed = self._advance()
        before_ms = self.ntp_ms_at(elapsed)
        was_set = before_ms is not None
        if not was_set:
            before_ms = self._last_ticks  # RTC = ticks + offset, the offset still 0
        new_ms = int(ntp) * 1000
        correction_ms = new_ms - before_ms
        if was_set:
            span_s = (elapsed - self._set_elapsed) / 1000
            if span_s >= MIN_DRIFT_SPAN_S:
                d = self.drift_ppm + correction_ms / 1000 / span_s * 1000000
                self.drift_ppm = max(-MAX_DRIFT_PPM, min(MAX_DRIFT_PPM, d))
        self._set_ntp_ms = new_ms
        self._set_elapsed = elapsed
        self.last_set = int(ntp)
        self.sets += 1
        self._save()
        return before_ms // 1000, _div_ms(correction_ms), self.drift_ppm

    def forget(self):
        """Back to unset (factory reset)."""
        self._set_ntp_ms = None
        self.drift_ppm = 0.0
        self.last_set = None
        if self._storage is not None:
            flashfile.remove(self._storage, FILE)

    def _save(self):
        if self._storage is None:
            return
        state = {"ntp_ms": self.ntp_ms_at(self._elapsed_ms), "ticks": self._last_ticks,
                 "drift_ppm": self.drift_ppm, "last_set": self.last_set}
        flashfile.replace(self._storage, FILE, json.dumps(state))

    def _restore(self):
        if self._storage is not None:
            flashfile.recover(self._storage, FILE)
        if self._storage is None or self._storage.size(FILE) < 0:
            return
        if not getattr(self._hw, "continuous", False):
            return
        try:
            with self._storage.open(FILE, "r") as f:
                state = json.loads(f.read())
            ntp_ms, ticks = int(state["ntp_ms"]), int(state["ticks"])
            drift = float(state["drift_ppm"])
        except (ValueError, KeyError, TypeError, OSError):
            return
        d = self._last_ticks - ticks
        if d < 0:
            return  # the timer went back: it did not keep running, the time is lost
        self.drift_ppm = drift
        self.last_set = state.get("last_set")
        self._set_ntp_ms = ntp_ms + d + int(d * drift / 1000000)
        self._set_elapsed = self._elapsed_ms


def _div_ms(ms):
    """Whole seconds of a signed millisecond count, rounded toward zero."""
    return ms // 1000 if ms >= 0 else -((-ms) // 1000)
