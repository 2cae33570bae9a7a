"""Benchmarks of the protocol library: SKINNY scalar vs batched, HELLO building, report
validation of a synthetic 14-day report of a busy token (70,000 HELLOs)."""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field

import numpy as np

from bench.table import Table
from robert import crypto, report, skinny, timeutil

DAYS = 14
HELLOS_PER_DAY = 5_000
HELLOS_PER_CONTACT = 30          # 15 minutes, one HELLO every 30 s
EMITTERS = 200


@dataclass
class SyntheticKeys:
    """A server's keys for the synthetic report (the ReportKeys protocol)."""

    k_g: bytes = field(repr=False)
    country_code: int = crypto.COUNTRY_FRANCE
    days: dict[int, bytes] = field(default_factory=dict, repr=False)
    k_macs: dict[bytes, bytes] = field(default_factory=dict, repr=False)

    def k_s(self, day: int) -> bytes | None:
        return self.days.get(day)

    def k_mac(self, id_a: bytes) -> bytes | None:
        return self.k_macs.get(id_a)


def synthetic_report(first_day: int = 2000, seed: int = 1) -> tuple[dict, SyntheticKeys]:
    """A /report body of DAYS days of HELLOS_PER_DAY HELLOs from EMITTERS registrations."""
    rnd = random.Random(seed)
    keys = SyntheticKeys(k_g=rnd.randbytes(16))
    emitters = [rnd.randbytes(5) for _ in range(EMITTERS)]
    for id_a in emitters:
        keys.k_macs[id_a] = rnd.randbytes(32)
    contacts = []
    per_day = HELLOS_PER_DAY // HELLOS_PER_CONTACT
    for day in range(first_day, first_day + DAYS):
        keys.days[day] = rnd.randbytes(24)
        for _ in range(per_day):
            id_a = rnd.choice(emitters)
            epoch = day * timeutil.EPOCHS_PER_DAY + rnd.randrange(timeutil.EPOCHS_PER_DAY)
            ebid = crypto.ebid(keys.days[day], epoch, id_a)
            ecc = crypto.ecc(keys.k_g, ebid, keys.country_code)
            start = timeutil.epoch_start(epoch)
            hellos = []
            for i in range(HELLOS_PER_CONTACT):
                t = start + 30 * i
                h = crypto.parse_hello(crypto.hello(keys.k_macs[id_a], ecc, ebid, t - 1))
                hellos.append(report.ReportHello(t, h.time16, h.mac, rnd.randrange(-80, -40)))
            contacts.append(report.ReportContact(ebid, ecc, tuple(hellos)))
    return report.report_body("ABC123", contacts), keys


def _rate(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def skinny_table() -> Table:
    key = os.urandom(24)
    blocks = np.random.default_rng(0).integers(0, 1 << 63, size=1 << 20, dtype=np.uint64)
    few = [os.urandom(8) for _ in range(20_000)]
    scalar_enc = _rate(lambda: [skinny.encrypt(key, b) for b in few], len(few))
    scalar_dec = _rate(lambda: [skinny.decrypt(key, b) for b in few], len(few))
    batch_enc = _rate(lambda: skinny.encrypt_many(key, blocks), len(blocks))
    batch_dec = _rate(lambda: skinny.decrypt_many(key, blocks), len(blocks))
    return Table("SKINNY-64-192, one core", ["operation", "scalar blocks/s", "batched blocks/s",
                                             "batched / scalar"],
                 [["encrypt", scalar_enc, batch_enc, batch_enc / scalar_enc],
                  ["decrypt", scalar_dec, batch_dec, batch_dec / scalar_dec]],
                 note=f"batched: numpy, {len(blocks):,} blocks a call; target >= 1,000,000 blocks/s")


def report_table() -> Table:
    body, keys = synthetic_report()
    text = json.dumps(body)
    n = sum(len(c["ids"]) for c in body["contacts"])
    _, contacts = report.parse_report(body)
    accepted, stats = report.validate_report(contacts, keys)
    assert stats.hellos_accepted == n, stats   # the synthetic report is all valid
    columns = report.parse_report_columns(body)[1]
    loads = _rate(lambda: json.loads(text), n)
    parse = _rate(lambda: report.parse_report(json.loads(text)), n)
    parse_columns = _rate(lambda: report.parse_report_columns(json.loads(text)), n)
    validate = _rate(lambda: report.validate_report(columns, keys), n)
    whole = _rate(lambda: report.validate_report(
        report.parse_report_columns(json.loads(text))[1], keys), n)
    plain = _rate(lambda: report.validate_report(report.parse_report(json.loads(text))[1], keys),
                  n)
    return Table(f"report validation, {DAYS}-day busy report ({n:,} HELLOs, "
                 f"{len(contacts):,} contacts), one core", ["stage", "HELLOs/s"],
                 [["json.loads alone", loads],
                  ["json.loads + parse_report (a ReportHello per HELLO)", parse],
                  ["json.loads + parse_report_columns (the server's parse)", parse_columns],
                  ["validate_report (ECC, SKINNY, MAC, Time16, scoring)", validate],
                  ["whole path, server's (JSON text -> accepted contacts)", whole],
                  ["whole path with parse_report", plain]],
                 note="target >= 200,000 HELLOs/s/core for validation")


def hello_table() -> Table:
    k_mac, ebid = os.urandom(32), os.urandom(8)
    n = 50_000
    t0 = 3_973_000_000
    build = _rate(lambda: [crypto.hello(k_mac, 0x21, ebid, t0 + i) for i in range(n)], n)
    hellos = [crypto.parse_hello(crypto.hello(k_mac, 0x21, ebid, t0 + i)) for i in range(n)]
    verify = _rate(lambda: [crypto.verify_hello(k_mac, h) for h in hellos], n)
    return Table("HELLO messages, one core", ["operation", "per second"],
                 [["crypto.hello (build)", build], ["crypto.verify_hello", verify]])


def run() -> list[Table]:
    return [skinny_table(), report_table(), hello_table()]


if __name__ == "__main__":
    for table in run():
        print(table.render())
