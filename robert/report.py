"""Server-side validation of a /report body: parse, then steps 1-6 of ROBERT-PROTOCOL.md.

Pure functions over plain data, so the server stub, the bench and the tests share
them. Speed comes from doing per contact what is per contact (one AES block for
the whole report's ECCs, one SKINNY batch per UTC day for the EBIDs, one K_A_mac
look-up per ID_A) and keeping the per-HELLO work to one HMAC and a few integer ops.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from robert import skinny
from robert.crypto import EBID_SIZE, HELLO_MAC_SIZE, PREFIX_HELLO
from robert.errors import ProtocolError, ReportFormatError
from robert.scoring import contact_score
from robert.timeutil import (
    EPOCH_SECONDS,
    EPOCHS_PER_DAY,
    TIME16_TOLERANCE,
    TIME_START,
)

MAX_TOKEN_CHARS = 4096  # report codes include JWTs (submission-code-server), a few hundred chars
MAX_CONTACTS = 50_000
MAX_HELLOS_PER_CONTACT = 10_000
MAX_HELLOS = 500_000
_BATCH_MIN = 32          # below this many EBIDs of one day, scalar SKINNY is faster

# Reasons a contact is dropped (ValidationStats.dropped_contacts keys).
DROP_NO_HELLO = "no_hello"                # the contact lists no HELLO
DROP_OTHER_COUNTRY = "other_country"      # step 1: ECC of another country
DROP_NO_KEY = "no_server_key"             # step 2: no K_S for the reception day
DROP_EPOCH = "epoch_mismatch"             # step 2: EBID epoch not within 1 of reception
DROP_MIXED_ID = "mixed_id"                # step 3: HELLOs decrypt to different ID_A/epochs
DROP_UNKNOWN_ID = "unknown_id_a"          # step 4: no registration (no K_A_mac) for the ID_A
DROP_NO_VALID_HELLO = "no_valid_hello"    # every HELLO of the contact was dropped
# Reasons a HELLO is dropped (ValidationStats.dropped_hellos keys).
HELLO_EPOCH = "epoch"                     # received more than one epoch from its EBID's epoch
HELLO_BAD_MAC = "bad_mac"                 # step 4
HELLO_TIME16 = "time16"                   # step 5: Time16 more than 180 s from reception


@dataclass(frozen=True, slots=True)
class ReportHello:
    time_collected: int   # timeCollectedOnDevice, NTP seconds
    time16: int           # timeFromHelloMessage
    mac: bytes            # 5 bytes
    rssi: int             # rssiCalibrated


@dataclass(frozen=True, slots=True)
class ReportContact:
    ebid: bytes
    ecc: int
    hellos: tuple[ReportHello, ...]


@dataclass(frozen=True, slots=True)
class ReportColumns:
    """One contact with its HELLOs as columns: what the server's fast parse builds, so a
    70,000-HELLO report costs four list appends per HELLO instead of an object each."""

    ebid: bytes
    ecc: int
    times: list[int]      # timeCollectedOnDevice
    time16s: list[int]    # timeFromHelloMessage
    macs: list[bytes]
    rssis: list[int]

    @classmethod
    def of(cls, c: ReportContact) -> ReportColumns:
        hs = c.hellos
        return cls(c.ebid, c.ecc, [h.time_collected for h in hs], [h.time16 for h in hs],
                   [h.mac for h in hs], [h.rssi for h in hs])


@dataclass(frozen=True, slots=True)
class AcceptedContact:
    id_a: bytes           # the emitter: its exposed epoch gets the score
    epoch_id: int
    score: float
    hellos: int           # HELLOs that passed
    last_time: int        # latest timeCollectedOnDevice among them


@dataclass
class ValidationStats:
    contacts: int = 0
    accepted: int = 0
    hellos: int = 0
    hellos_accepted: int = 0
    dropped_contacts: Counter = field(default_factory=Counter)
    dropped_hellos: Counter = field(default_factory=Counter)


class ReportKeys(Protocol):
    """What validation needs from the server's key store."""

    k_g: bytes
    country_code: int

    def k_s(self, day: int) -> bytes | None: ...      # day = UTC day index since timeStart

    def k_mac(self, id_a: bytes) -> bytes | None: ...


# -- parsing --------------------------------------------------------------------------------

def _int(value: object, lo: int, hi: int, where: str) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise ReportFormatError(f"{where}: integer in {lo}..{hi} expected")
    return value


def _b64(value: object, size: int, where: str) -> bytes:
    if not isinstance(value, str) or len(value) > 4 * (size // 3 + 1):
        raise ReportFormatError(f"{where}: base64 of {size} bytes expected")
    try:
        raw = binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ReportFormatError(f"{where}: not valid base64") from None
    if len(raw) != size:
        raise ReportFormatError(f"{where}: base64 of {size} bytes expected, got {len(raw)}")
    return raw


def _hello(item: object, where: str) -> ReportHello:
    if not isinstance(item, dict):
        raise ReportFormatError(f"{where}: object expected")
    try:
        t = item["timeCollectedOnDevice"]
        t16 = item["timeFromHelloMessage"]
        mac = item["mac"]
        rssi = item["rssiCalibrated"]
    except KeyError as exc:
        raise ReportFormatError(f"{where}: missing field {exc.args[0]}") from None
    return ReportHello(_int(t, 0, 0xFFFFFFFF, where + ".timeCollectedOnDevice"),
                       _int(t16, 0, 0xFFFF, where + ".timeFromHelloMessage"),
                       _b64(mac, HELLO_MAC_SIZE, where + ".mac"),
                       _int(rssi, -128, 127, where + ".rssiCalibrated"))


def parse_report(body: object) -> tuple[str, list[ReportContact]]:
    """(token, contacts) from a decoded /report JSON body; ReportFormatError says what is wrong."""
    if not isinstance(body, dict):
        raise ReportFormatError("the report must be a JSON object")
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise ReportFormatError(f"token: a string of 1..{MAX_TOKEN_CHARS} characters expected")
    raw = body.get("contacts")
    if not isinstance(raw, list):
        raise ReportFormatError("contacts: a list expected")
    if len(raw) > MAX_CONTACTS:
        raise ReportFormatError(f"contacts: at most {MAX_CONTACTS} contacts in one report")
    contacts = []
    total = 0
    for n, c in enumerate(raw):
        where = f"contacts[{n}]"
        if not isinstance(c, dict):
            raise ReportFormatError(f"{where}: object expected")
        ids = c.get("ids")
        if not isinstance(ids, list):
            raise ReportFormatError(f"{where}.ids: a list expected")
        if len(ids) > MAX_HELLOS_PER_CONTACT:
            raise ReportFormatError(f"{where}.ids: at most {MAX_HELLOS_PER_CONTACT} HELLOs")
        total += len(ids)
        if total > MAX_HELLOS:
            raise ReportFormatError(f"at most {MAX_HELLOS} HELLOs in one report")
        ebid = _b64(c.get("ebid"), EBID_SIZE, where + ".ebid")
        ecc = _b64(c.get("ecc"), 1, where + ".ecc")[0]
        hellos = tuple(_hello(item, f"{where}.ids[{i}]") for i, item in enumerate(ids))
        contacts.append(ReportContact(ebid, ecc, hellos))
    return token, contacts


class _Unusual(Exception):
    """The fast parse met something it leaves to parse_report (which names the error)."""


def parse_report_columns(body: object) -> tuple[str, list[ReportColumns]]:
    """parse_report with columns: same checks, same errors, same values.

    The loop handles only well-formed input; anything else (a missing field, a bool,
    bad base64, a limit) hands the body to parse_report, which raises the exact error,
    so both parsers always agree.
    """
    try:
        return _parse_columns(body)
    except _Unusual:
        token, contacts = parse_report(body)
        return token, [ReportColumns.of(c) for c in contacts]


def _parse_columns(body: object) -> tuple[str, list[ReportColumns]]:
    if type(body) is not dict:
        raise _Unusual
    token = body.get("token")
    raw = body.get("contacts")
    if type(token) is not str or not 0 < len(token) <= MAX_TOKEN_CHARS or type(raw) is not list \
            or len(raw) > MAX_CONTACTS:
        raise _Unusual
    a2b = binascii.a2b_base64
    per_contact, per_report = MAX_HELLOS_PER_CONTACT, MAX_HELLOS
    contacts = []
    total = 0
    for c in raw:
        if type(c) is not dict:
            raise _Unusual
        ids = c.get("ids")
        if type(ids) is not list or len(ids) > per_contact:
            raise _Unusual
        total += len(ids)
        if total > per_report:
            raise _Unusual
        try:
            ebid = _b64(c.get("ebid"), EBID_SIZE, "")
            ecc = _b64(c.get("ecc"), 1, "")[0]
        except ReportFormatError:
            raise _Unusual from None
        times: list[int] = []
        time16s: list[int] = []
        macs: list[bytes] = []
        rssis: list[int] = []
        try:
            for item in ids:
                t = item["timeCollectedOnDevice"]
                t16 = item["timeFromHelloMessage"]
                mac = item["mac"]
                rssi = item["rssiCalibrated"]
                if type(t) is not int or type(t16) is not int or type(rssi) is not int \
                        or type(mac) is not str or type(item) is not dict \
                        or not (0 <= t <= 0xFFFFFFFF and 0 <= t16 <= 0xFFFF
                                and -128 <= rssi <= 127 and len(mac) == 8):
                    raise _Unusual
                mac = a2b(mac, strict_mode=True)
                if len(mac) != HELLO_MAC_SIZE:
                    raise _Unusual
                times.append(t)
                time16s.append(t16)
                macs.append(mac)
                rssis.append(rssi)
        except (KeyError, TypeError, IndexError, ValueError, binascii.Error):
            raise _Unusual from None
        contacts.append(ReportColumns(ebid, ecc, times, time16s, macs, rssis))
    return token, contacts


# -- validation -----------------------------------------------------------------------------

def _countries(k_g: bytes, contacts: list[ReportColumns]) -> list[int]:
    """Step 1 for the whole report in one AES-ECB call: ECC XOR mask byte = country."""
    if not contacts:
        return []
    enc = Cipher(algorithms.AES(bytes(k_g)), modes.ECB()).encryptor()
    pad = bytes(8)
    masks = enc.update(b"".join(c.ebid + pad for c in contacts))
    return [c.ecc ^ masks[16 * i] for i, c in enumerate(contacts)]


def _open_many(k_s: bytes, ebids: list[bytes]) -> list[tuple[int, bytes]]:
    """(epochId, ID_A) of each EBID under one day key, batched when it pays."""
    if len(ebids) < _BATCH_MIN:
        blocks = [skinny.decrypt(k_s, e) for e in ebids]
    else:
        words = skinny.decrypt_many(k_s, np.frombuffer(b"".join(ebids), dtype=">u8")
                                    .astype(np.uint64))
        raw = words.astype(">u8").tobytes()
        blocks = [raw[i:i + 8] for i in range(0, len(raw), 8)]
    return [(int.from_bytes(b[:3], "big"), b[3:]) for b in blocks]


class _DayKeys:
    """K_S per day, asked once per report."""

    def __init__(self, keys: ReportKeys) -> None:
        self._keys = keys
        self._cache: dict[int, bytes | None] = {}

    def __call__(self, day: int) -> bytes | None:
        if day not in self._cache:
            self._cache[day] = self._keys.k_s(day) if day >= 0 else None
        return self._cache[day]


def _decrypt_groups(groups: list[tuple[int, int, int]], contacts: list[ReportColumns],
                    day_key: _DayKeys) -> dict[tuple[int, int], tuple[int, bytes] | str]:
    """Step 2 for (contact index, reception day, reception epoch) groups.

    Each group's EBID is opened with the K_S of its reception day; if the epoch is
    not within 1 of the reception epoch and that epoch is next to midnight, the
    adjacent day's key is tried. Result: (epochId, ID_A) or a drop reason.
    """
    result: dict[tuple[int, int], tuple[int, bytes] | str] = {}
    pending = [(ci, day, recv, day) for ci, day, recv in groups]
    for attempt in range(2):
        by_key: dict[int, list[tuple[int, int, int]]] = {}
        retry = []
        for ci, day, recv, key_day in pending:
            if day_key(key_day) is None:
                result.setdefault((ci, day), DROP_NO_KEY)
                continue
            by_key.setdefault(key_day, []).append((ci, day, recv))
        for key_day, items in by_key.items():
            opened = _open_many(day_key(key_day), [contacts[ci].ebid for ci, _, _ in items])
            for (ci, day, recv), (epoch, id_a) in zip(items, opened, strict=True):
                if abs(epoch - recv) <= 1:
                    result[(ci, day)] = (epoch, id_a)
                    continue
                result[(ci, day)] = DROP_EPOCH
                if attempt == 0:
                    other = _adjacent_day(recv, day)
                    if other is not None:
                        retry.append((ci, day, recv, other))
        pending = retry
    return result


def _adjacent_day(recv_epoch: int, day: int) -> int | None:
    """The other day whose EBIDs may be accepted at `recv_epoch` (first/last epoch of a day)."""
    if (recv_epoch - 1) // EPOCHS_PER_DAY != day:
        return day - 1
    if (recv_epoch + 1) // EPOCHS_PER_DAY != day:
        return day + 1
    return None


def _epoch(ntp: int) -> int:
    return (ntp - TIME_START) // EPOCH_SECONDS


def validate_report(contacts: Sequence[ReportContact | ReportColumns], keys: ReportKeys,
                    ) -> tuple[list[AcceptedContact], ValidationStats]:
    """Steps 1-6: the contacts that count, with their emitter, epoch and score."""
    contacts = [c if type(c) is ReportColumns else ReportColumns.of(c) for c in contacts]
    stats = ValidationStats(contacts=len(contacts), hellos=sum(len(c.times) for c in contacts))
    countries = _countries(keys.k_g, contacts)
    # Step 2 groups: one per (contact, reception day), with the first reception epoch of that day.
    groups: list[tuple[int, int, int]] = []
    live: list[int] = []
    for ci, c in enumerate(contacts):
        if not c.times:
            stats.dropped_contacts[DROP_NO_HELLO] += 1
        elif countries[ci] != keys.country_code:
            stats.dropped_contacts[DROP_OTHER_COUNTRY] += 1
        else:
            live.append(ci)
            groups += [(ci, day, recv) for day, recv in _first_epoch_per_day(c.times).items()]
    opened = _decrypt_groups(groups, contacts, _DayKeys(keys))
    per_contact: dict[int, list[tuple[int, bytes] | str]] = {}
    for ci, day, _ in groups:
        per_contact.setdefault(ci, []).append(opened[(ci, day)])

    k_macs: dict[bytes, bytes | None] = {}
    accepted = []
    for ci in live:
        outcomes = per_contact[ci]
        reason = next((o for o in outcomes if isinstance(o, str)), None)
        if reason is None and len(set(outcomes)) > 1:
            reason = DROP_MIXED_ID
        if reason is not None:
            stats.dropped_contacts[reason] += 1
            continue
        epoch, id_a = outcomes[0]
        if id_a not in k_macs:
            k_macs[id_a] = keys.k_mac(id_a)
        k_mac = k_macs[id_a]
        if k_mac is None:
            stats.dropped_contacts[DROP_UNKNOWN_ID] += 1
            continue
        c = contacts[ci]
        kept = _check_hellos(c, epoch, k_mac, stats)
        if not kept:
            stats.dropped_contacts[DROP_NO_VALID_HELLO] += 1
            continue
        stats.hellos_accepted += len(kept)
        accepted.append(AcceptedContact(id_a, epoch, contact_score(kept), len(kept),
                                         max(t for t, _ in kept)))
    stats.accepted = len(accepted)
    return accepted, stats


def _first_epoch_per_day(times: list[int]) -> dict[int, int]:
    """{UTC day: first reception epoch that day}; one min/max when the contact is within a day."""
    first, last = _epoch(min(times)), _epoch(max(times))
    if first // EPOCHS_PER_DAY == last // EPOCHS_PER_DAY:
        return {first // EPOCHS_PER_DAY: first}
    seen: dict[int, int] = {}
    for t in times:
        recv = _epoch(t)
        day = recv // EPOCHS_PER_DAY
        if day not in seen or recv < seen[day]:
            seen[day] = recv
    return seen


_SHA256_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _hmac_sha256_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256 (RFC 2104) inner and outer hashes after the key blocks, so each HELLO
    costs two hash copies instead of a new HMAC (half the time of hmac.digest)."""
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


_TIME16_BYTES = [t.to_bytes(2, "big") for t in range(1 << 16)]


def _check_hellos(c: ReportColumns, epoch: int, k_mac: bytes,
                  stats: ValidationStats) -> list[tuple[int, int]]:
    """Per-HELLO checks of one contact (epoch, MAC, Time16); (time, rssi) of those kept."""
    inner, outer = _hmac_sha256_states(k_mac)
    inner.update(bytes((PREFIX_HELLO, c.ecc)) + c.ebid)   # the 10 bytes every HELLO MAC starts with
    lo = TIME_START + (epoch - 1) * EPOCH_SECONDS     # receptions in epochs epoch-1..epoch+1
    hi = TIME_START + (epoch + 2) * EPOCH_SECONDS
    compare = hmac.compare_digest
    t16_bytes = _TIME16_BYTES
    kept = []
    bad_epoch = bad_mac = bad_time = 0
    for t, t16, mac, rssi in zip(c.times, c.time16s, c.macs, c.rssis, strict=True):
        if not lo <= t < hi:
            bad_epoch += 1
        else:
            mac_in = inner.copy()
            mac_in.update(t16_bytes[t16])
            mac_out = outer.copy()
            mac_out.update(mac_in.digest())
            if not compare(mac_out.digest()[:5], mac):
                bad_mac += 1
                continue
            if abs(((t16 - t + 0x8000) & 0xFFFF) - 0x8000) > TIME16_TOLERANCE:
                bad_time += 1
            else:
                kept.append((t, rssi))
    for reason, count in ((HELLO_EPOCH, bad_epoch), (HELLO_BAD_MAC, bad_mac),
                          (HELLO_TIME16, bad_time)):
        if count:
            stats.dropped_hellos[reason] += count
    return kept


def report_body(token: str, contacts: list[ReportContact]) -> dict:
    """The JSON body of /report for `contacts` (the inverse of parse_report; used by clients)."""
    def b64(data: bytes) -> str:
        return binascii.b2a_base64(data, newline=False).decode("ascii")

    return {"token": token, "contacts": [
        {"ebid": b64(c.ebid), "ecc": b64(bytes((c.ecc,))), "ids": [
            {"timeCollectedOnDevice": h.time_collected, "timeFromHelloMessage": h.time16,
             "mac": b64(h.mac), "rssiCalibrated": h.rssi} for h in c.hellos]}
        for c in contacts]}


__all__ = ["AcceptedContact", "ProtocolError", "ReportColumns", "ReportContact",
           "ReportFormatError", "ReportHello", "ReportKeys", "ValidationStats", "parse_report",
           "parse_report_columns", "report_body", "validate_report"]
