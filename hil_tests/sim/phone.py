"""A simulated phone running the TousAntiCovid app, as a node on the air.

It registers with the server like the app (ECDH /register with a fresh P-256
key, K_A from `robert.crypto.derive_keys`), keeps what it heard for 14 days,
and can report and ask for its status. Its clock is the air's virtual time.
Two kinds, as the apps behave (ROBERT-PROTOCOL.md, "How the real apps
exchange HELLOs"):

- **android** (TousAntiCovid Android, `BleAdvertiserImpl`, `BlePayload`,
  `BleGattManagerImpl`): advertises connectable with the service data 0xFD64 =
  HELLO || version 2 || txPower (rebuilt every 30 s, a new random address
  with each EBID), runs the FD64 WRITE characteristic (an iPhone's write is
  logged like an advert), scans 4 s a minute, and connects to and reads the
  peers that show the service UUID without service data (iPhones).
- **ios** (StopCovid / TousAntiCovid iOS `BluetoothPeripheralManager`,
  `BluetoothCentralManager`): advertises only the service UUID (iOS cannot
  send service data), connectable; scans all the time for the UUID
  (`scanForPeripherals(withServices:)`, duplicates allowed); logs the service
  data it sees and connects to write its own payload into that peer; a peer
  without service data it connects to and reads; its characteristic answers
  reads with its payload. At most one connection at a time and one per peer
  a minute (`BluetoothSettings`: `maximumConcurrentConnectionCount` 1,
  `connectionTimeInterval` 60 s): the air enforces both (air.py, gatt.py).
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field

from robert_token.scanner import ROBERT_UUID, build_advert, calibrate, parse_advert

from gateway.robert_api import RobertApi
from hil_tests.sim.air import Node
from hil_tests.sim.channel import AdvPlan, ScanPlan
from provisioning.keys import StationKeyPair, load_server_key
from robert import crypto, timeutil

APP_HELLO_VERSION = 2
HELLO_REBUILD_S = 30
ADV_INTERVAL_S = 0.25  # Android ADVERTISE_MODE_LOW_LATENCY-ish
SCAN_WINDOW_S = 4.0
SCAN_INTERVAL_S = 60.0
IOS_ADV_INTERVAL_S = 0.2  # iOS does not say; foreground peripherals are seen about every 100-300 ms
IOS_SCAN_WINDOW_S = 10.0  # continuous scanning, reported once per peer per window
OS_KINDS = ("android", "ios")
IOS_ADVERT = b"\x02\x01\x06" + b"\x03\x03" + bytes((ROBERT_UUID & 0xFF, ROBERT_UUID >> 8))
KEEP_DAYS = 14
TUPLES_DAYS = 14


@dataclass
class Heard:
    ecc: bytes
    ebid: bytes
    time16: int
    mac: bytes
    ntp: int
    rssi: int


@dataclass
class Phone(Node):
    """The app on a phone. `register()` first; the air calls `advert_at` and `on_rx`."""

    os: str = "android"
    tx_byte: int = 0  # txPower advertised (calibration), dBm
    rx_gain: int = 0
    seed: int = 0
    k_mac: bytes = field(default=b"", repr=False)
    k_tuples: bytes = field(default=b"", repr=False)
    tuples: dict[int, tuple[bytes, int]] = field(default_factory=dict, repr=False)
    heard_log: list[Heard] = field(default_factory=list, repr=False)
    by_channel: dict[str, int] = field(default_factory=dict)  # HELLOs logged: advert / written / read
    risk_level: int | None = None
    _cache: dict = field(default_factory=dict, repr=False, init=False)

    def __post_init__(self) -> None:
        if self.os not in OS_KINDS:
            raise ValueError(f"a phone's os is one of {', '.join(OS_KINDS)}, not {self.os!r}")
        self.adv = None  # the air asks advert_at(); this only gives the timing
        interval = IOS_ADV_INTERVAL_S if self.ios else ADV_INTERVAL_S
        self.plan = AdvPlan(interval, random.Random(self.seed).uniform(0, interval))
        if self.ios:
            self.scan = ScanPlan(IOS_SCAN_WINDOW_S, IOS_SCAN_WINDOW_S, self.seed % int(IOS_SCAN_WINDOW_S))
        else:
            self.scan = ScanPlan(SCAN_WINDOW_S, SCAN_INTERVAL_S, self.seed % int(SCAN_INTERVAL_S))

    @property
    def ios(self) -> bool:
        return self.os == "ios"

    def __repr__(self) -> str:
        return (f"Phone(name={self.name!r}, os={self.os}, tuples={len(self.tuples)}, "
                f"heard={len(self.heard_log)}, <keys hidden>)")

    # ------------------------------------------------------------ server
    async def register(self, api: RobertApi, server_key_b64: str) -> None:
        pair = StationKeyPair()
        answer = await api.register(pair.public_b64, extra={"tuplesDays": TUPLES_DAYS})
        self.k_mac, self.k_tuples = crypto.derive_keys(bytes(pair.shared_secret(load_server_key(server_key_b64))))
        self._take_tuples(answer["tuples"])

    def _take_tuples(self, b64: str) -> None:
        for epoch, ebid, ecc in crypto.tuples_open(self.k_tuples, base64.b64decode(b64)):
            self.tuples[epoch] = (ebid, ecc)

    async def status(self, api: RobertApi, now: int) -> int:
        """Ask for the exposure status at virtual time `now`; returns the risk level."""
        epoch = timeutil.epoch_id(now)
        if epoch not in self.tuples:
            raise RuntimeError(f"phone {self.name} has no tuple for epoch {epoch}")
        ebid, _ = self.tuples[epoch]
        answer = await api.status(crypto.auth_body(self.k_mac, crypto.PREFIX_STATUS, ebid, epoch, now))
        if answer.get("tuples"):
            self._take_tuples(answer["tuples"])
        self.risk_level = int(answer.get("riskLevel") or 0)
        return self.risk_level

    def contacts(self, since_ntp: int) -> list[dict]:
        """What the app would upload: the v6 `contacts` list, merged by EBID."""
        by_ebid: dict[bytes, dict] = {}
        for h in self.heard_log:
            if h.ntp < since_ntp:
                continue
            c = by_ebid.setdefault(h.ebid, {"ebid": _b64(h.ebid), "ecc": _b64(h.ecc), "ids": []})
            c["ids"].append({"timeCollectedOnDevice": h.ntp, "timeFromHelloMessage": h.time16,
                             "mac": _b64(h.mac), "rssiCalibrated": h.rssi})
        return list(by_ebid.values())

    async def report(self, api: RobertApi, code: str, since_ntp: int) -> dict:
        return await api.report(code, self.contacts(since_ntp))

    # ------------------------------------------------------------ radio
    def _current(self, t: float) -> tuple[bytes, bytes, bytes] | None:
        """(address, advert data, exchange payload) at virtual time t, None without a tuple."""
        now = int(t)
        epoch = timeutil.epoch_id(now)
        tup = self.tuples.get(epoch)
        if tup is None:
            return None
        built = timeutil.epoch_start(epoch) + (now - timeutil.epoch_start(epoch)) // HELLO_REBUILD_S * HELLO_REBUILD_S
        key = (epoch, built)
        if key not in self._cache:
            self._cache.clear()
            ebid, ecc = tup
            msg = crypto.hello(self.k_mac, ecc, ebid, built)
            payload = msg + bytes((APP_HELLO_VERSION, self.tx_byte & 0xFF))
            data = IOS_ADVERT if self.ios else build_advert(msg, APP_HELLO_VERSION, self.tx_byte)
            self._cache[key] = (self._address(epoch), data, payload)
        return self._cache[key]

    def advert_at(self, t: float) -> tuple[bytes, bytes] | None:
        """(address, advert data) sent at virtual time t, or None without a tuple for now."""
        cur = self._current(t)
        return None if cur is None else cur[:2]

    # ------------------------------------------------------------ GATT exchange (air.py, gatt.py)
    def is_connectable(self, t: float) -> bool:
        return self._current(t) is not None  # both apps advertise connectable

    def wants_exchange(self, t: float, addr: bytes, data: bytes, peer: str) -> str | None:
        """iOS writes into peers that show service data; both read peers that show only the UUID."""
        if parse_advert(data) is not None:
            return "write" if self.ios else None
        return "read" if has_robert_uuid(data) else None

    def exchange_payload(self, t: float) -> bytes | None:
        """What we write as a central (iOS), or answer to a read (iOS only: Android's is WRITE-only)."""
        if not self.ios:
            return None
        cur = self._current(t)
        return None if cur is None else cur[2]

    def on_exchange_write(self, t: float, payload: bytes, rssi: int) -> bool:
        return self._log_payload(t, payload, rssi, "written")

    def on_exchange_read(self, t: float, payload: bytes, rssi: int, peer: str) -> None:
        self._log_payload(t, payload, rssi, "read")

    def _log_payload(self, t: float, payload: bytes, rssi: int, how: str) -> bool:
        if len(payload) < 18:  # Android BlePayloadTest: shorter payloads are refused
            return False
        tx = payload[17] - 256 if payload[17] > 127 else payload[17]
        return self._log(t, payload[:16], tx, rssi, how)

    def _address(self, epoch: int) -> bytes:
        """A fresh random private address per EBID (derived, so a seed replays it)."""
        a = bytearray(hashlib.sha256(b"%s/%d/%d" % (self.name.encode(), self.seed, epoch)).digest()[:6])
        a[0] = (a[0] & 0x3F) | 0x40  # resolvable-private-looking top bits
        return bytes(a)

    def on_rx(self, t: float, addr: bytes, data: bytes, rssi: int) -> None:
        parsed = parse_advert(data)
        if parsed is None:
            return
        msg, _version, peer_tx = parsed
        self._log(t, msg, peer_tx, rssi, "advert")

    def _log(self, t: float, msg: bytes, peer_tx: int, rssi: int, how: str) -> bool:
        now = int(t)
        own = self.tuples.get(timeutil.epoch_id(now))
        if own is not None and msg[1:9] == own[0]:
            return False
        self.heard += 1
        self.by_channel[how] = self.by_channel.get(how, 0) + 1
        self.heard_log.append(Heard(msg[0:1], msg[1:9], (msg[9] << 8) | msg[10], msg[11:16], now,
                                    calibrate(rssi, peer_tx, self.rx_gain)))
        if len(self.heard_log) % 1000 == 0:
            self.purge(now)
        return True

    def purge(self, now: int) -> None:
        limit = now - KEEP_DAYS * 86400
        self.heard_log = [h for h in self.heard_log if h.ntp >= limit]

    def adv_plan(self) -> AdvPlan | None:
        return self.plan if self.tuples else None


def has_robert_uuid(data: bytes) -> bool:
    """Does an advert list the 16-bit service UUID 0xFD64 (AD types 0x02 / 0x03)?"""
    i, n = 0, len(data)
    while i < n:
        length = data[i]
        if length == 0 or i + 1 + length > n:
            return False
        if data[i + 1] in (0x02, 0x03):
            body = data[i + 2:i + 1 + length]
            for k in range(0, len(body) - 1, 2):
                if body[k] | (body[k + 1] << 8) == ROBERT_UUID:
                    return True
        i += 1 + length
    return False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
