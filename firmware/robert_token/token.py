"""The token: keys, clock, tuples, contact log and the radio schedule, driven by `tick()`.

A port builds the port object of docs/architecture.md and calls `tick()` in
its main loop; `tick()` does what is due and says how many milliseconds it
may sleep. At an epoch change the next tuple and a new random address are
taken together; the HELLO is rebuilt every `hello_rebuild_s` (<= 30 s). The
token advertises only when provisioned, with a set clock and a tuple for the
current epoch.
"""

import json

from robert_token import FW_VERSION, flashfile, gatt_profile, hello, power, scanner
from robert_token.clock import Clock
from robert_token.contact_log import CAPACITY, ContactLog
from robert_token.epochs import DAY_S, epoch_of, epoch_start
from robert_token.keys import Keys
from robert_token.tuples import TupleStore

RISK_FILE = "risk.json"
STAGE_FILE = "bundle.stage"
HELLO_VERSION = 2  # the version byte after the HELLO: the same as the TousAntiCovid app sends
MAX_SLEEP_MS = 60000
BUSY_MS = 3000

NOT_PROVISIONED = "not_provisioned"
CLOCK_UNSET = "clock_unset"
SYNC_NEEDED = "sync_needed"
OK = "ok"


# flags + the complete list of 128-bit service UUIDs = the sync service (little-endian)
SYNC_ADVERT = b"\x02\x01\x06\x11\x07" + bytes(reversed(gatt_profile.uuid_bytes(gatt_profile.SYNC_SERVICE_UUID)))


def random_static_address(rand6):
    """A BLE random static address (two top bits set), most significant byte first."""
    a = bytearray(rand6)
    a[0] |= 0xC0
    return bytes(a)


class Token:
    """The whole token core over one port object."""

    def __init__(self, port, schedule=None):
        self.port = port
        storage = port.storage
        self.keys = Keys(storage)
        self.clock = Clock(port.clock, storage)
        self.tuples = TupleStore(storage)
        self.log = ContactLog(storage, capacity=getattr(port, "log_capacity", CAPACITY))
        self.schedule = dict(power.DEFAULT_SCHEDULE)
        if schedule:
            self.schedule.update(schedule)
        self.log.flush_s = self.schedule["log_flush_s"]
        self.dedup = scanner.Deduplicator()
        self.scan_policy = scanner.ScanPolicy(self.schedule)
        self._scan_plan = None  # (window_ms, interval_ms) the radio scans with
        self.risk = self._load_risk()
        self.link = {"garbage": 0, "bad_frames": 0}
        self.heard = {"adverts": 0, "hellos": 0, "ignored": 0, "duplicates": 0, "storage_errors": 0}
        self.epoch = None
        self.ebid = None
        self.ecc = None
        self.address = None
        self.advertising = False
        self.scanning = False
        self._hello_at = None  # elapsed ms of the last HELLO build
        self._day = None
        self._led = None
        self.busy_until = None  # elapsed ms until which the LED shows a sync in progress
        # sync state shared by every link (USB, BLE): the staged bundle, the last commit, the history window
        self.staged = 0
        self.last_commit = None
        self.history = None
        # the daily sync window (a home gateway syncs the token in it): a minute of the UTC day
        # chosen by the token, so tokens of one household do not all open at once
        r = port.random(2)
        self.sync_offset_s = ((r[0] << 8) | r[1]) % (DAY_S // 60) * 60
        self.in_sync_window = False

    def __repr__(self):
        return "Token(state=%s, <keys hidden>)" % self.state()

    # ------------------------------------------------------------ state
    def state(self, now=None):
        if not self.keys.provisioned:
            return NOT_PROVISIONED
        if now is None:
            now = self.clock.ntp()
        if now is None:
            return CLOCK_UNSET
        if self.tuples.find(epoch_of(now)) is None:
            return SYNC_NEEDED
        return OK

    def led_pattern(self, state, now=None):
        if self.busy_until is not None and self.clock.elapsed_ms() < self.busy_until:
            return "busy"
        if state == OK and self.risk.get("level") == 4:
            return "at_risk"
        if state == OK and now is not None and self.protected_until() - now < self._warn_s():
            return SYNC_NEEDED  # a day before the identifiers run out: sync it
        return state

    def _warn_s(self):
        """A day; half the bundle's span for bundles shorter than two days (else they warn at once)."""
        t = self.tuples
        if t.first_epoch is None or t.last_epoch is None:
            return DAY_S
        span = (t.last_epoch - t.first_epoch + 1) * (DAY_S // 96)
        return DAY_S if span >= 2 * DAY_S else span // 2

    def protected_until(self):
        """NTP seconds at which the last tuple's epoch ends (0 without tuples)."""
        last = self.tuples.last_epoch
        return 0 if last is None or not self.tuples.count else epoch_start(last + 1)

    def sync_window(self, now):
        """(start, end) in NTP seconds of the current or next daily sync window."""
        start = now - now % DAY_S + self.sync_offset_s
        end = start + self.schedule["sync_window_s"]
        if now >= end:
            start += DAY_S
            end += DAY_S
        return start, end

    def _sync_window_tick(self, now):
        """Open or close the daily connectable sync window; seconds until its next change (or None).

        Only on a port whose radio advertises connectable (`gatt_exchange`). In the
        window the token advertises the sync service UUID alone (no name, no serial,
        no HELLO) from its current random address, so a home gateway connects and
        runs the status flow; outside it, the HELLO advert as usual.
        """
        radio = self.port.radio
        if not getattr(radio, "gatt_exchange", False) or now is None or not self.keys.provisioned:
            return None
        start, end = self.sync_window(now)
        if start <= now < end:
            if not self.in_sync_window:
                self.in_sync_window = True
                if self.address is None:
                    self.address = random_static_address(self.port.random(6))
                radio.advertise(self.address, SYNC_ADVERT, self.schedule["sync_adv_interval_ms"],
                                connectable=True)
                self.advertising = True
            return end - now
        if self.in_sync_window:
            self.in_sync_window = False
            self._hello_at = None  # the HELLO advert comes back at once
            if self.advertising:
                radio.advertise(None, None, None)
                self.advertising = False
                self.epoch = None
        return start - now

    def sync_activity(self):
        """A sync frame was handled: show `busy` for a few seconds."""
        self.busy_until = self.clock.elapsed_ms() + BUSY_MS
        self._show("busy")

    def _show(self, pattern):
        if pattern != self._led:
            self._led = pattern
            self.port.led.show(pattern)

    # ------------------------------------------------------------ scheduler
    def tick(self):
        """Run what is due; return the ms until the next call is needed."""
        elapsed = self.clock.elapsed_ms()
        now_ms = self.clock.ntp_ms()
        now = None if now_ms is None else now_ms // 1000
        st = self.state(now)
        self._show(self.led_pattern(st, now))
        window_s = self._sync_window_tick(now) if st != NOT_PROVISIONED else None
        try:
            self.log.due(elapsed, now)
        except OSError:
            self.heard["storage_errors"] += 1  # flash full or failing: the batch is counted as dropped
        busy_left = 0 if self.busy_until is None else self.busy_until - elapsed
        if st != OK:
            if not self.in_sync_window:
                self._stop_advertising()
            if now is None or st == NOT_PROVISIONED:
                self._stop_scanning()  # nothing heard could be timed or kept
            else:
                self._start_scanning()
                self._daily(now)
            waits = [MAX_SLEEP_MS]
            if busy_left > 0:
                waits.append(busy_left)
            if window_s is not None:
                waits.append(window_s * 1000)
            return max(10, min(waits))
        epoch = epoch_of(now)
        if epoch != self.epoch:
            self.ebid, self.ecc = self.tuples.find(epoch)
            self.epoch = epoch
            self.address = random_static_address(self.port.random(6))
            self._hello_at = None
            if self.in_sync_window:  # the address changes with the EBID, in the window too
                self.in_sync_window = False
                window_s = self._sync_window_tick(now)
        rebuild_ms = self.schedule["hello_rebuild_s"] * 1000
        if self.in_sync_window:
            self._hello_at = elapsed  # the sync advert stands in for the HELLO until the window ends
        elif self._hello_at is None or elapsed - self._hello_at >= rebuild_ms:
            self._advertise(now)
            self._hello_at = elapsed
        self._start_scanning()
        self._daily(now)
        waits = [epoch_start(epoch + 1) * 1000 - now_ms, self._hello_at + rebuild_ms - elapsed, MAX_SLEEP_MS]
        if busy_left > 0:
            waits.append(busy_left)
        if window_s is not None:
            waits.append(window_s * 1000)
        flush_at = self.log.flush_at(elapsed, now_ms)
        if flush_at is not None:
            waits.append(flush_at)
        return max(10, min(waits))

    def _advertise(self, now):
        tx = self.keys.settings.get("tx_gain", 0)
        msg = hello.build(self.keys.mac_key(), self.ecc, self.ebid, now)
        data = scanner.build_advert(msg, HELLO_VERSION, tx)
        radio = self.port.radio
        if getattr(radio, "gatt_exchange", False):
            # The port runs the FD64 exchange service: advertise connectable, like the
            # Android app, so iPhones connect and write their HELLO (on_hello_payload).
            radio.advertise(self.address, data, self.schedule["adv_interval_ms"], connectable=True)
        else:
            radio.advertise(self.address, data, self.schedule["adv_interval_ms"])
        self.advertising = True

    def _stop_advertising(self):
        if self.advertising:
            self.port.radio.advertise(None, None, None)
            self.advertising = False
        self.epoch = None

    def _start_scanning(self):
        plan = self.scan_policy.plan(self.clock.elapsed_ms())
        if not self.scanning or plan != self._scan_plan:
            self.port.radio.scan(plan[0], plan[1])
            self.scanning = True
            self._scan_plan = plan

    def _stop_scanning(self):
        if self.scanning:
            self.port.radio.scan(None, None)
            self.scanning = False

    def _daily(self, now):
        day = now // DAY_S
        if day != self._day:
            self._day = day
            try:
                self.log.purge(day)
            except OSError:
                self.heard["storage_errors"] += 1

    # ------------------------------------------------------------ reception
    def on_advert(self, addr, adv_data, rssi, ticks_ms):
        """An advert heard while scanning: keep it if it is a ROBERT HELLO."""
        self.heard["adverts"] += 1
        parsed = scanner.parse_advert(adv_data)
        if parsed is None:
            return False
        msg, _version, peer_tx = parsed
        return self._keep(msg, peer_tx, rssi, ticks_ms)

    def _keep(self, msg, peer_tx, rssi, ticks_ms):
        """Log one received HELLO (advert or GATT write) unless it is ours, a repeat or untimed."""
        ntp_rx = self.clock.ntp_at_ticks(ticks_ms)
        if ntp_rx is None or not self.keys.provisioned:
            self.heard["ignored"] += 1
            return False
        if self.ebid is not None and msg[1:9] == self.ebid:
            self.heard["ignored"] += 1
            return False
        if not self.dedup.accept(msg, self.clock.elapsed_at(ticks_ms)):
            self.heard["duplicates"] += 1
            return False
        rssi_cal = scanner.calibrate(rssi, peer_tx, self.keys.settings.get("rx_gain", 0))
        t16 = (msg[9] << 8) | msg[10]
        try:
            self.log.add(msg[0], msg[1:9], t16, msg[11:16], ntp_rx, rssi_cal, self.clock.elapsed_ms())
        except OSError:
            self.heard["storage_errors"] += 1
            return False
        self.heard["hellos"] += 1
        self.scan_policy.heard(self.clock.elapsed_ms())
        return True

    def on_hello_payload(self, payload, rssi, ticks_ms):
        """A payload a phone wrote into the FD64 exchange characteristic (GATT).

        `payload` is HELLO(16) || version(1) || txPower(1) (gatt_profile); `rssi`
        is the connection's raw RSSI. It is logged exactly as a HELLO heard in an
        advert. Malformed payloads are refused (False), never raised on.
        """
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            return False  # bytes(n) of an int would allocate n bytes: only buffers are payloads
        payload = bytes(payload)
        if not gatt_profile.EXCHANGE_PAYLOAD_MIN <= len(payload) <= gatt_profile.EXCHANGE_PAYLOAD_MAX:
            self.heard["ignored"] += 1
            return False
        tx = payload[17]
        if tx > 127:
            tx -= 256
        return self._keep(payload[:16], tx, rssi, ticks_ms)

    # ------------------------------------------------------------ risk
    def _load_risk(self):
        st = self.port.storage
        flashfile.recover(st, RISK_FILE)
        if st.size(RISK_FILE) <= 0:
            return {"level": None, "last_contact": None, "updated": None}
        try:
            with st.open(RISK_FILE, "r") as f:
                r = json.loads(f.read())
            return {"level": r.get("level"), "last_contact": r.get("last_contact"), "updated": r.get("updated")}
        except (ValueError, OSError, AttributeError):
            return {"level": None, "last_contact": None, "updated": None}

    def store_risk(self, level, last_contact, last_scoring):
        self.risk = {"level": level, "last_contact": last_contact,
                     "updated": self.clock.ntp() if last_scoring is None else last_scoring}
        flashfile.replace(self.port.storage, RISK_FILE, json.dumps(self.risk))

    # ------------------------------------------------------------ info / reset
    def info(self):
        now = self.clock.ntp()
        st = self.state(now)
        mv = self.port.battery_mv()
        settings = self.keys.settings
        t = self.tuples
        return {
            "fw": FW_VERSION, "proto": 1,
            "serial": settings.get("serial") or getattr(self.port, "serial", None),
            "model": settings.get("model") or getattr(self.port, "model", None),
            "provisioned": self.keys.provisioned, "state": st,
            "clock": {"set": now is not None, "ntp": now, "drift_ppm": self.clock.drift_ppm,
                      "last_set": self.clock.last_set},
            "tuples": {"count": t.count, "first_epoch": t.first_epoch, "last_epoch": t.last_epoch,
                       "remaining": t.remaining(epoch_of(now)) if now is not None else t.count},
            "log": self.log.info(),
            "risk": dict(self.risk),
            "battery": {"mv": mv, "pct": power.battery_pct(mv)},
            "link": dict(self.link),
            "sync": {"protected_until": self.protected_until() or None,
                     "window_at": self.sync_window(now)[0] if now is not None else None,
                     "window_s": self.schedule["sync_window_s"], "in_window": self.in_sync_window},
            "radio": {"advertising": self.advertising, "scanning": self.scanning,
                      "address": None if self.address is None or not self.advertising else _hex(self.address)},
            "heard": dict(self.heard),
        }

    def factory_reset(self):
        """Wipe keys, tuples, log, risk state, clock and staged bundle."""
        self._stop_advertising()
        self._stop_scanning()
        self.log.erase()
        self.tuples.wipe()
        self.keys.wipe()
        self.clock.forget()
        st = self.port.storage
        flashfile.remove(st, RISK_FILE)
        if st.size(STAGE_FILE) >= 0:
            st.remove(STAGE_FILE)
        self.risk = {"level": None, "last_contact": None, "updated": None}
        self.ebid = self.ecc = self.address = None
        self._show(self.led_pattern(self.state()))


def _hex(b):
    return "".join("%02x" % x for x in b)

