"""Server stub benchmarks over real HTTP on loopback (a real `robert-server` process):

- status requests/s with p50/p99 latency, from pre-registered clients (the 2-epoch
  gap is respected by moving the server clock with the dev admin call);
- report validation through POST /report for a 14-day report of a busy token
  (5,000 HELLOs a day), against validation of the same body in process.
"""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.table import Table
from robert import crypto, report, timeutil
from server_stub.process import ServerProcess

STATUS_CLIENTS = 100
STATUS_ROUNDS = 5
REPORT_DAYS = 14
HELLOS_PER_DAY = 5_000
HELLOS_PER_CONTACT = 20          # one every 30 s for 10 minutes
EMITTERS = 50
REPORT_RUNS = 3


@dataclass
class Client:
    """A registration seen from the client side, built on `robert` (keys, tuples)."""

    k_mac: bytes = field(repr=False)
    k_tuples: bytes = field(repr=False)
    tuples: dict[int, tuple[bytes, int]] = field(default_factory=dict)

    def take(self, blob_b64: str) -> None:
        for epoch, ebid, ecc in crypto.tuples_open(self.k_tuples, base64.b64decode(blob_b64)):
            self.tuples[epoch] = (ebid, ecc)


def register(api: httpx.Client, server_key: ec.EllipticCurvePublicKey, days: int = 4) -> Client:
    private = ec.generate_private_key(ec.SECP256R1())
    spki = private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    r = api.post("/api/v6/register", json={"captchaId": "b", "captcha": "b", "tuplesDays": days,
                                           "clientPublicECDHKey": base64.b64encode(spki).decode()})
    r.raise_for_status()
    client = Client(*crypto.derive_keys(private.exchange(ec.ECDH(), server_key)))
    client.take(r.json()["tuples"])
    return client


def set_offset(api: httpx.Client, offset: float) -> int:
    r = api.put("/admin/clock", json={"offset": offset})
    r.raise_for_status()
    return r.json()["time"]


def bench_status(api: httpx.Client, server_key) -> Table:
    clients = [register(api, server_key) for _ in range(STATUS_CLIENTS)]
    latencies = []
    offset = 0.0
    wall = 0.0
    for _ in range(STATUS_ROUNDS):
        offset += 2 * timeutil.EPOCH_SECONDS
        now = set_offset(api, offset)
        epoch = timeutil.epoch_id(now)
        bodies = [crypto.auth_body(c.k_mac, crypto.PREFIX_STATUS, c.tuples[epoch][0], epoch, now)
                  for c in clients]
        start = time.perf_counter()
        for c, body in zip(clients, bodies, strict=True):
            t0 = time.perf_counter()
            r = api.post("/api/v6/status", json=body)
            latencies.append(time.perf_counter() - t0)
            r.raise_for_status()
            c.take(r.json()["tuples"])
        wall += time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return Table(
        "server stub: POST /api/v6/status over HTTP (loopback, one client connection)",
        ["requests", "requests/s (incl. client work)", "p50 ms", "p99 ms", "max ms"],
        [[n, n / wall, 1000 * statistics.median(latencies),
          1000 * latencies[min(n - 1, int(0.99 * n))], 1000 * latencies[-1]]],
        note=f"{STATUS_CLIENTS} registrations x {STATUS_ROUNDS} rounds; each answer carries a new "
             f"4-day bundle (up to 384 EBIDs, batched SKINNY); {os.cpu_count()} cores; server is one "
             "uvicorn worker (one core)")


def busy_report(emitters: list[Client], first_epoch: int, rng: random.Random) -> dict:
    """REPORT_DAYS days of HELLOS_PER_DAY HELLOs heard from registered emitters."""
    contacts = []
    per_day = HELLOS_PER_DAY // HELLOS_PER_CONTACT
    for day in range(REPORT_DAYS):
        for _ in range(per_day):
            c = rng.choice(emitters)
            epoch = first_epoch + day * timeutil.EPOCHS_PER_DAY + rng.randrange(
                timeutil.EPOCHS_PER_DAY - 1)
            ebid, ecc = c.tuples[epoch]
            start = timeutil.epoch_start(epoch) + rng.randrange(300)
            ids = []
            for k in range(HELLOS_PER_CONTACT):
                t = start + 30 * k
                hello = crypto.hello(c.k_mac, ecc, ebid, t)
                ids.append({"timeCollectedOnDevice": t + 1,
                            "timeFromHelloMessage": timeutil.time16(t),
                            "mac": base64.b64encode(hello[11:]).decode(),
                            "rssiCalibrated": rng.randrange(-80, -40)})
            contacts.append({"ebid": base64.b64encode(ebid).decode(),
                             "ecc": base64.b64encode(bytes((ecc,))).decode(), "ids": ids})
    return {"token": "", "contacts": contacts}


def bench_report(api: httpx.Client, server_key, server: ServerProcess) -> Table:
    now = set_offset(api, 0)
    past = -(REPORT_DAYS + 1) * timeutil.DAY_SECONDS
    set_offset(api, past)                                      # register 15 days ago
    emitters = [register(api, server_key, days=REPORT_DAYS + 2) for _ in range(EMITTERS)]
    first_epoch = timeutil.day_of_epoch(timeutil.epoch_id(now + past) + timeutil.EPOCHS_PER_DAY) \
        * timeutil.EPOCHS_PER_DAY
    set_offset(api, 0)
    body = busy_report(emitters, first_epoch, random.Random(7))
    hellos = sum(len(c["ids"]) for c in body["contacts"])
    rows = []
    times = []
    for _ in range(REPORT_RUNS):
        body["token"] = server.new_code()
        payload = httpx.Request("POST", "http://x", json=body).content
        t0 = time.perf_counter()
        r = api.post("/api/v6/report", content=payload,
                     headers={"content-type": "application/json"}, timeout=300)
        times.append(time.perf_counter() - t0)
        r.raise_for_status()
    json_bytes = len(payload)
    best = min(times)
    rows.append([f"POST /report, HTTP end to end (best of {REPORT_RUNS})", hellos, best,
                 hellos / best])
    # The same body in process with the same keys: parse + validate, then validate alone.
    from server_stub.clock import Clock
    from server_stub.service import RobertService, _ReportKeys
    from server_stub.store import Store
    store = Store(server.db)
    try:
        keys = _ReportKeys(RobertService(store, Clock()))
        parse_times, plain_times, validate_times = [], [], []
        for _ in range(REPORT_RUNS):
            t0 = time.perf_counter()
            _, contacts = report.parse_report_columns(json.loads(payload))
            t1 = time.perf_counter()
            accepted, stats = report.validate_report(contacts, keys)
            t2 = time.perf_counter()
            report.validate_report(report.parse_report(json.loads(payload))[1], keys)
            plain_times.append(time.perf_counter() - t2)
            parse_times.append(t2 - t0)
            validate_times.append(t2 - t1)
    finally:
        store.close()
    parse_best, validate_best = min(parse_times), min(validate_times)
    rows.append(["in process: json.loads + parse_report_columns + validate_report (the "
                 "server's path)", hellos, parse_best, hellos / parse_best])
    rows.append(["in process: the same with parse_report (a ReportHello per HELLO)", hellos,
                 min(plain_times), hellos / min(plain_times)])
    rows.append(["in process: validate_report alone", hellos, validate_best,
                 hellos / validate_best])
    return Table(
        f"server stub: report validation, {REPORT_DAYS}-day busy report "
        f"({HELLOS_PER_DAY} HELLOs/day, {len(body['contacts'])} contacts, "
        f"{json_bytes / 1e6:.1f} MB JSON)",
        ["path", "HELLOs", "seconds", "HELLOs/s"], rows,
        note=f"best of {REPORT_RUNS} each; accepted: {stats.hellos_accepted} HELLOs of "
             f"{stats.hellos}; HTTP / validate-alone time ratio {best / validate_best:.1f}; "
             f"{os.cpu_count()} cores, machine shared")


def run() -> list[Table]:
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        db = Path(tmp) / "server.db"
        with ServerProcess(db, "--dev-admin") as server:
            with httpx.Client(base_url=server.url, timeout=60) as api:
                key_b64 = server.public_key()
                server_key = serialization.load_der_public_key(base64.b64decode(key_b64))
                return [bench_status(api, server_key), bench_report(api, server_key, server)]
