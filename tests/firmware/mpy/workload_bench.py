"""The firmware benchmark workload, run by bench/bench_firmware.py under CPython and the VM.

Usage: workload_bench.py BLOB_DIR [days]. Prints one JSON object of results.
BLOB_DIR holds bundle_4.bin and bundle_30.bin sealed with key bytes(range(32));
"-" runs the replay alone (no HELLO timing, no bundles), as the heap test does.
The busy day: 5,000 HELLO receptions between 08:00 and 18:00 from neighbours
who stay 5 to 45 minutes, heard once per one-minute scan window, their EBID
changing every 15-minute epoch.
"""

import gc
import json
import struct
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
STEP_HELLOS = 10  # HELLOs per step: the VM collects garbage between steps


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
            ebid = struct.pack(">II", p[2] & 0xFFFFFFFF, epoch)
            t16 = (rx - rng.next(3)) & 0xFFFF
            yield rx, 0x21, ebid, t16, bytes((rng.next(256),)) * 5, -50 - rng.next(40)
            count += 1


def bench_hello(n=300):
    k = bytes(range(32))
    t0 = now_us()
    for i in range(n):
        hello.build(k, 0x21, b"EBID0123", 3960000000 + i)
    return since(t0) / n


class Replay:
    """The busy replay, `step()` by `step()`: under tools/micropython each step is a separate call
    into the VM, which collects garbage only then, so gc.mem_alloc() at a step's start is the live heap."""

    def __init__(self, days, per_step=STEP_HELLOS):
        self.log = ContactLog(VfsStorage("flash_bench"))
        self.rng = Lcg(42)
        self.days = days
        self.per_step = per_step
        self.day_index = 0
        self.receptions = None  # the current day's generator
        self.total = 0
        self.t_add = 0.0
        self.live_peak = 0

    def step(self):
        """Replay up to `per_step` HELLOs (flushing at each day's end); False once every day is done."""
        used = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
        if used > self.live_peak:
            self.live_peak = used
        t0 = now_us()
        n = 0
        while n < self.per_step:
            if self.receptions is None:
                if self.day_index == self.days:
                    break
                day = DAY0 + self.day_index
                self.log.purge(day)
                self.receptions = busy_day(day, self.rng)
            try:
                rx, ecc, ebid, t16, mac, rssi = next(self.receptions)
            except StopIteration:
                self.log.flush()
                self.receptions = None
                self.day_index += 1
                continue
            self.log.add(ecc, ebid, t16, mac, rx, rssi)
            self.total += 1
            n += 1
        self.t_add += since(t0)
        return self.receptions is not None or self.day_index < self.days

    def result(self):
        info = self.log.info()
        return {"hellos_replayed": self.total, "hellos_stored": info["hellos"], "log_bytes": info["bytes"],
                "days_kept": len(self.log.days), "append_us": self.t_add / self.total,
                "live_heap_peak": self.live_peak, "step_hellos": self.per_step,
                "bytes_per_hello": float(info["bytes"]) / info["hellos"]}


def bench_log(days):
    """The whole replay in one go (CPython, or a VM without steps)."""
    replay = Replay(days)
    while replay.step():
        pass
    return replay.result()


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
    out = {"impl": sys.implementation.name}
    if blob_dir != "-":
        out["hello_us"] = bench_hello()
    replay = Replay(days)

    def finish():
        out.update(replay.result())
        if blob_dir != "-":
            out["bundle_4"] = bench_bundle(blob_dir, 4)
            out["bundle_30"] = bench_bundle(blob_dir, 30)
        print("RESULT " + json.dumps(out))

    if globals().get("VM_STEPS"):
        def vm_step():
            if replay.step():
                return True
            finish()
            return False

        globals()["vm_step"] = vm_step
    else:
        while replay.step():
            pass
        finish()


if __name__ == "__main__":
    main()
