"""Simulated bench: token-days of virtual life per wall-clock second, and the demo end to end.

Tokens are real `robert-token --air` processes on the real air; in "office"
they sit 1-3 m apart (every token hears every other), in "alone" they are out
of range of each other (ticks and adverts only). "air only" times the air's
channel work with in-process phones and no token process (the ceiling the
token processes are measured against). The demo is `python -m
hil_tests.sim.demo`, timed from start to exit.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Table

DAY = 86400.0


def _token_days(n: int, days: float, office: bool) -> tuple[float, int, int]:
    from hil_tests.sim.world import World

    with tempfile.TemporaryDirectory() as tmp, World(Path(tmp), seed=1) as world:
        for i in range(n):
            world.add_token(f"T{i}")
            world.provision(f"T{i}")
            world.place(f"T{i}", (float(i % 3), float(i // 3)) if office else (1000.0 * i, 0.0))
        events0 = world.air.events
        start = time.perf_counter()
        world.run_for(days * DAY)
        wall = time.perf_counter() - start
        heard = sum(world.air.tokens[t.serial].heard for t in world.tokens.values())
        return wall, world.air.events - events0, heard


def _air_only(phones: int, days: float) -> float:
    from hil_tests.sim.air import Advert, Air, Node
    from hil_tests.sim.channel import AdvPlan, ScanPlan

    air = Air(4e9, seed=1).start()
    try:
        for i in range(phones):
            node = Node(name=f"N{i}", adv=Advert(bytes(6), bytes(31), AdvPlan(0.25, 4e9)))
            node.scan = ScanPlan(4.0, 60.0, 4e9 + i)
            air.add_node(node)
            air.place(f"N{i}", (float(i % 4), float(i // 4)))
        start = time.perf_counter()
        t = 4e9
        while t < 4e9 + days * DAY:  # steps like a token's wake-ups would make
            t += 20.0
            air.run_until(t)
        return time.perf_counter() - start
    finally:
        air.stop()


def _demo() -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "hil_tests.sim.demo", "--folder", tmp],
                             capture_output=True, text=True, timeout=900)
        return time.perf_counter() - start, out.returncode


def run() -> list[Table]:
    speed = Table("Simulated token-days per wall-clock second (real token processes on the air)",
                  ["setting", "tokens", "virtual days", "wall s", "token-days / s",
                   "virtual s / wall s", "token wake-ups", "adverts heard"])
    for n, days, office in ((1, 1.0, False), (4, 0.5, False), (4, 0.5, True), (8, 0.25, True)):
        wall, events, heard = _token_days(n, days, office)
        speed.rows.append(["office" if office else "alone", n, days, wall, n * days / wall,
                           days * DAY / wall, events, heard])
    phones, days = 8, 1.0
    wall = _air_only(phones, days)
    speed.rows.append(["air only (in-process nodes)", phones, days, wall, phones * days / wall,
                       days * DAY / wall, int(days * DAY / 20), "-"])
    speed.note = ("A token wake-up is one `time`/`idle` round trip (a tick every 20 s: the HELLO "
                  "rebuild). Token processes share the cores with the air; 'air only' (no "
                  "process, a step every 20 s) is the ceiling.")

    demo = Table("Demo end to end (python -m hil_tests.sim.demo)",
                 ["what", "wall s", "exit code"])
    wall, code = _demo()
    demo.rows.append(["3 tokens + 1 phone, 1.5 virtual days, provisioning, report, 3 statuses",
                      wall, code])
    return [speed, demo]
