"""Reading ROBERT HELLOs out of received adverts, defensively.

An advert is a list of AD structures (length, type, data). A ROBERT advert has
16-bit-UUID service data (type 0x16) for UUID 0xFD64 holding
HELLO(16) || version(1) || txPower(1, signed). Anything else, truncated or
malformed, is ignored: `parse_advert` never raises on bytes.
"""

AD_SERVICE_DATA_16 = 0x16
ROBERT_UUID = 0xFD64
HELLO_SIZE = 16
DEDUP_MS = 4000  # identical HELLOs closer than this are one reception (a burst)
DEDUP_SLOTS = 32


def parse_advert(data):
    """(hello(16), version, tx_power) of a ROBERT advert, or None."""
    try:
        data = bytes(data)
    except (TypeError, ValueError):
        return None
    i = 0
    n = len(data)
    while i < n:
        length = data[i]
        if length == 0:
            return None  # padding: the significant part ended
        end = i + 1 + length
        if end > n:
            return None  # truncated structure
        if data[i + 1] == AD_SERVICE_DATA_16 and length >= 3:
            uuid = data[i + 2] | (data[i + 3] << 8)
            if uuid == ROBERT_UUID:
                body = data[i + 4 : end]
                if len(body) < HELLO_SIZE:
                    return None
                version = body[16] if len(body) > 16 else 0
                tx = body[17] if len(body) > 17 else 0
                if tx > 127:
                    tx -= 256
                return body[:HELLO_SIZE], version, tx
        i = end
    return None


def build_advert(hello, version=0, tx_power=0):
    """The advertising data of a token: flags, the 0xFD64 service list and the HELLO service data."""
    sd = bytes((AD_SERVICE_DATA_16, ROBERT_UUID & 0xFF, ROBERT_UUID >> 8)) + bytes(hello) + bytes(
        (version & 0xFF, tx_power & 0xFF))
    return b"\x02\x01\x06" + b"\x03\x03\x64\xfd" + bytes((len(sd),)) + sd


def calibrate(rssi_raw, tx_gain, rx_gain):
    """rssiCalibrated = rssiRaw - txGain(peer) - rxGain(self), clipped to [-127, 0]."""
    v = int(rssi_raw) - int(tx_gain) - int(rx_gain)
    return -127 if v < -127 else (0 if v > 0 else v)


class Deduplicator:
    """Drops repeats of one HELLO within a burst; a HELLO heard again later is kept.

    HELLOs change at least every 30 s, so keeping one reception per HELLO per
    `DEDUP_MS` keeps several per minute: the per-minute RSSI detail scoring needs.
    Memory is a fixed number of slots.
    """

    def __init__(self, window_ms=DEDUP_MS, slots=DEDUP_SLOTS):
        self.window_ms = window_ms
        self._slots = []  # [hello, elapsed_ms]
        self._max = slots
        self.dropped = 0

    def accept(self, hello, elapsed_ms):
        for s in self._slots:
            if s[0] == hello:
                if elapsed_ms - s[1] < self.window_ms:
                    self.dropped += 1
                    return False
                s[1] = elapsed_ms
                return True
        if len(self._slots) >= self._max:
            self._slots.pop(0)
        self._slots.append([bytes(hello), elapsed_ms])
        return True


class ScanPolicy:
    """Adaptive scanning: dense windows while neighbours are heard, sparse ones when alone.

    Scoring wants several HELLOs per neighbour in every 2-minute window (its
    delta falls from 27 for 2 messages to 15 for 5 or more) but a token spends
    most hours alone, where a window a minute is enough to notice company.
    The busy plan holds `busy_hold_s` after the last HELLO heard. The values
    are `power.DEFAULT_SCHEDULE`'s, the ones the power model is computed for.
    """

    def __init__(self, schedule):
        self.idle = (schedule["scan_window_ms"], schedule["scan_interval_ms"])
        self.busy = (schedule.get("busy_scan_window_ms") or self.idle[0],
                     schedule.get("busy_scan_interval_ms") or self.idle[1])
        self.hold_ms = int(schedule.get("busy_hold_s", 0) * 1000)
        self.last_heard = None

    def heard(self, elapsed_ms):
        self.last_heard = elapsed_ms

    def plan(self, elapsed_ms):
        """(window_ms, interval_ms) to scan with now."""
        last = self.last_heard
        if last is not None and elapsed_ms - last < self.hold_ms:
            return self.busy
        return self.idle
