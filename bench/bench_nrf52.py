"""The nRF52 port's main loop over an hour of board time on CircuitPython's doubles.

Measures what the port's design costs and saves: how many times the loop
wakes (the old loop slept 50 ms per pass: 72,000 wake-ups an hour), the share
of time the HELLO is on the air (each scan window stops it: CircuitPython
refuses to scan while the user's code advertises) and whether every 20 ms
LED flash is drawn. Run in a subprocess: the doubles take module names
(`supervisor`, `storage`...) that must not leak into the bench process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.table import Table

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD = ROOT / "tests" / "firmware" / "mpy" / "nrf52_workload.py"


def measure() -> dict:
    env_path = f"{ROOT / 'firmware'}:{WORKLOAD.parent}"
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, str(WORKLOAD), "flash"], cwd=tmp, capture_output=True, text=True,
                           env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=600, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def run() -> list[Table]:
    m = measure()
    hours = m["ms"] / 3_600_000
    t = Table("nRF52 main loop, one hour on battery (CircuitPython doubles, board time)",
              ["figure", "value"])
    t.rows.append(["loop wake-ups per hour", round(m["wakes"] / hours)])
    t.rows.append(["wake-ups per hour of the old 50 ms loop", 72_000])
    t.rows.append(["scan windows", m["scans"]])
    t.rows.append(["HELLO on the air (% of the time)", 100.0 * m["adv_ms"] / m["ms"]])
    t.rows.append(["20 ms LED flashes drawn / due", f"{m['flashes']} / {m['expected_flashes']}"])
    t.rows.append(["HELLOs logged from the peer", m["hellos"]])
    t.note = ("Reproduce: python -m bench bench_nrf52. The advert is off only during the 600 ms scan windows "
              "(one a minute) and its restarts; the loop wakes for the core's due times, scan windows, LED "
              "edges and at least every second (a phone's connection stops the advert).")
    return [t]
