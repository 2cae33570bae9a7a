"""ROBERT time: NTP seconds, 15-minute epochs counted from timeStart, UTC days, Time16.

All times are integer NTP seconds (Unix + 2208988800) unless a name says otherwise.
"""

from __future__ import annotations

NTP_UNIX_DELTA = 2208988800          # NTP seconds at the Unix epoch (1970-01-01)
TIME_START = 3799958400              # 2020-06-01T00:00Z in NTP seconds: ROBERT's timeStart
EPOCH_SECONDS = 900
EPOCHS_PER_DAY = 96
DAY_SECONDS = EPOCH_SECONDS * EPOCHS_PER_DAY
TIME16_TOLERANCE = 180               # report step 5: |Time16 - reception mod 65536| <= 180 s


def ntp_from_unix(unix: float) -> int:
    return int(unix) + NTP_UNIX_DELTA


def unix_from_ntp(ntp: int) -> int:
    return ntp - NTP_UNIX_DELTA


def epoch_id(ntp: int, time_start: int = TIME_START) -> int:
    """The epoch that contains `ntp` (may be negative before timeStart)."""
    return (ntp - time_start) // EPOCH_SECONDS


def epoch_start(epoch: int, time_start: int = TIME_START) -> int:
    """NTP seconds at which `epoch` begins."""
    return time_start + epoch * EPOCH_SECONDS


def day_of_epoch(epoch: int) -> int:
    """Index of the UTC day (since timeStart) an epoch belongs to: it selects K_S."""
    return epoch // EPOCHS_PER_DAY


def day_of_ntp(ntp: int, time_start: int = TIME_START) -> int:
    return (ntp - time_start) // DAY_SECONDS


def utc_day_ntp(ntp: int) -> int:
    """NTP seconds of 00:00 UTC of the day containing `ntp` (the form of lastContactDate)."""
    return ntp - ntp % DAY_SECONDS


def day_start_ntp(day: int, time_start: int = TIME_START) -> int:
    """NTP seconds of 00:00 UTC of day index `day` since timeStart."""
    return time_start + day * DAY_SECONDS


def time16(ntp: int) -> int:
    """The low 16 bits of the NTP seconds, as carried in a HELLO."""
    return ntp & 0xFFFF


def time16_delta(t16: int, ntp: int) -> int:
    """Signed distance from `ntp mod 65536` to `t16`, in [-32768, 32767] (wrap-around aware)."""
    return ((t16 - ntp + 0x8000) & 0xFFFF) - 0x8000


def time16_matches(t16: int, ntp: int, tolerance: int = TIME16_TOLERANCE) -> bool:
    """Report step 5: the HELLO's Time16 is within `tolerance` s of the reception time."""
    return abs(time16_delta(t16, ntp)) <= tolerance
