"""The firmware benchmark workload, run by bench/bench_firmware.py under CPython and the VM.

Usage: workload_bench.py BLOB_DIR [days]. Prints one JSON object of results.
BLOB_DIR holds bundle_4.bin and bundle_30.bin sealed with key bytes(range(32)).
The busy day: 5,000 HELLO receptions between 08:00 and 18:00 from neighbours
who stay 5 to 45 minutes, heard once per one-minute scan window, their EBID
changing every 15-minute epoch.
"""

import gc
import json
import sys
import time

from robert_token import hello
from robert_token.contact_log import ContactLog
from robert_token.epochs import DAY_S, EPOCH_S
from robert_token.tuples import TupleStore
from robert_token.vfs_storage import VfsStorage

try:
    _us = time.ticks_us

    def now_us():
        return _us()

    def since(t0):
        return time.ticks_diff(time.ticks_us(), t0)
except AttributeError:
    def now_us():
        return time.perf_counter()

    def since(t0):
        return (time.perf_counter() - t0) * 1e6

DAY0 = 45800
HELLOS_PER_DAY = 5000


class Lcg:
    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


def busy_day(day, rng):
    """Yield (ntp_rx, ecc, ebid, t16, mac, rssi) of one busy day, in time order, without a list of the day."""
    start = day * DAY_S + 8 * 3600
    minutes = 600
    per_minute = HELLOS_PER_DAY // minutes + 1
    # neighbours: (arrive minute, leave minute, id); about per_minute present at any time
    count = 0
    present = []
    nid = day * 100000
    for m in range(minutes):
        present = [p for p in present if p[1] > m]
        while len(present) < per_minute:
            nid += 1
            present.append((m, m + 5 + rng.next(40), nid))
        for p in present:
            if count >= HELLOS_PER_DAY:
                return
            rx = start + m * 60 + rng.next(50)
            epoch = rx // EPOCH_S
            ebid = bytes(((p[2] >> s) & 0xFF for s in (24, 16, 8, 0))) + bytes(((epoch >> s) & 0xFF for s in (24, 16, 8, 0)))
            t16 = (rx - rng.next(3)) & 0xFFFF
            yield rx, 0x21, ebid, t16, bytes((rng.next(256),)) * 5, -50 - rng.next(40)
            count += 1


def bench_hello(n=300):
    k = bytes(range(32))
    t0 = now_us()
    for i in range(n):
        hello.build(k, 0x21, b"EBID0123", 3960000000 + i)
    return since(t0) / n


def bench_log(days):
    st = VfsStorage("flash_bench")
    log = ContactLog(st)
    rng = Lcg(42)
    peak = 0
    total = 0
    t_add = 0.0
    for d in range(days):
        day = DAY0 + d
        log.purge(day)
        t0 = now_us()
        for rx, ecc, ebid, t16, mac, rssi in busy_day(day, rng):
            log.add(ecc, ebid, t16, mac, rx, rssi)
            total += 1
        log.flush()
        t_add += since(t0)
        gc.collect()
        used = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
        if used > peak:
            peak = used
    info = log.info()
    return {"hellos_replayed": total, "hellos_stored": info["hellos"], "log_bytes": info["bytes"],
            "days_kept": len(log.days), "append_us": t_add / total, "peak_heap": peak,
            "bytes_per_hello": float(info["bytes"]) / info["hellos"]}


def bench_bundle(blob_dir, days):
    name = "bundle_%d.bin" % days
    src = VfsStorage(blob_dir)
    with src.open(name, "rb") as f:
        blob = f.read()
    st = VfsStorage("flash_bundle_%d" % days)
    with st.open("stage", "wb") as f:
        f.write(blob)
    blob = None
    gc.collect()
    store = TupleStore(st)
    t0 = now_us()
    count, first, last = store.install(bytes(range(32)), "stage", st.size("stage"))
    return {"ms": since(t0) / 1000, "tuples": count, "bytes": st.size("stage")}


def main():
    blob_dir = sys.argv[1]
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 14
    out = {"impl": sys.implementation.name, "hello_us": bench_hello()}
    out.update(bench_log(days))
    out["bundle_4"] = bench_bundle(blob_dir, 4)
    out["bundle_30"] = bench_bundle(blob_dir, 30)
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
