"""A whole town in the in-process world: true and false notifications against ground truth.

Everyone lives alone out of range (off the air: nobody hears them, they hear
nobody, and the in-process world does not wake a token that is off the air).
Every day each person joins a gathering with probability `GO_OUT`: groups of
2 to 6 people, for 10 to 120 minutes between 08:00 and 20:00, standing at
random points of a disc whose radius is drawn from 0.5 to 5 m (so pairs are
from a few centimetres to 10 m apart). Ground truth is the health definition
applied to those positions: a person was exposed when, on one day within the
7 days before the last day, they cumulated 15 minutes or more within 2 m of a
positive. The positives (`positives` of them) report on the last day
(tokens at the kiosk with onset 5 days back, so a 7-day window; phones with
the app, 7 days); then everyone asks its status once.

Sharding: a town is split in districts whose people never meet; each
district is one `run_district` call (its own world and server), so districts
run in parallel processes (`workers`) and the counts add up. The same split
would put each district on a Ray task (`ray.remote(run_district)`) or a
`dask.delayed` call over a cluster with no other change; contacts across
districts would need a boundary exchange per step, which this model avoids
by construction.
"""

from __future__ import annotations

import math
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from hil_tests.sim.inproc import InprocWorld
from hil_tests.sim.scenario import parse_start

GO_OUT = 0.8
GROUP = (2, 6)
MINUTES = (10, 120)
RADIUS_M = (0.5, 5.0)
DAY_S = 86400.0
CLOSE_M = 2.0
LONG_S = 15 * 60
WINDOW_DAYS = 7
START = "2026-06-01T00:00:00Z"


@dataclass
class Counts:
    """Notifications against ground truth, per kind of notified device."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, notified: bool, exposed: bool) -> None:
        if notified and exposed:
            self.tp += 1
        elif notified:
            self.fp += 1
        elif exposed:
            self.fn += 1
        else:
            self.tn += 1

    def merge(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn


@dataclass
class TownResult:
    devices: int = 0
    days: int = 0
    counts: dict[str, Counts] = field(default_factory=lambda: {"token": Counts(), "phone": Counts()})
    wall_s: float = 0.0
    gatherings: int = 0
    token_wakeups: int = 0


def plan(people: list[str], days: int, rng: random.Random, x0: float):
    """The gatherings: (day, start s, length s, {name: (x, y)})."""
    out = []
    venue = 0
    for day in range(days):
        going = [p for p in people if rng.random() < GO_OUT]
        rng.shuffle(going)
        i = 0
        while i < len(going):
            k = rng.randint(*GROUP)
            members = going[i:i + k]
            i += k
            if len(members) < 2:
                break
            venue += 1
            cx, cy = x0 + (venue % 100) * 1000.0, (venue // 100) * 1000.0
            r = rng.uniform(*RADIUS_M)
            where = {}
            for m in members:
                a, rr = rng.uniform(0, 6.283185307), r * rng.random() ** 0.5
                where[m] = (cx + rr * math.cos(a), cy + rr * math.sin(a))
            start = day * DAY_S + rng.uniform(8 * 3600, 20 * 3600)
            out.append((day, start, rng.uniform(*MINUTES) * 60.0, where))
    return out


def exposed(gatherings, positives: set[str], days: int) -> set[str]:
    """Ground truth: 15+ minutes within 2 m of a positive, cumulated on one of the last 7 days."""
    minutes: dict[tuple[str, int], float] = {}
    first_day = days - WINDOW_DAYS
    for day, _start, length, where in gatherings:
        if day < first_day:
            continue
        for p in positives & where.keys():
            for other, pos in where.items():
                if other == p:
                    continue
                dx, dy = pos[0] - where[p][0], pos[1] - where[p][1]
                if (dx * dx + dy * dy) ** 0.5 < CLOSE_M:
                    minutes[(other, day)] = minutes.get((other, day), 0.0) + length
    return {who for (who, _), s in minutes.items() if s >= LONG_S}


def run_district(tokens: int, phones: int, days: int, seed: int, positives: int,
                 schedule: dict | None = None) -> TownResult:
    """One district (its own world and server); see the module docstring."""
    wall = time.perf_counter()
    rng = random.Random(seed)
    start = parse_start(START)
    people = [f"T{i}" for i in range(tokens)] + [f"H{i}" for i in range(phones)]
    gatherings = plan(people, days, rng, 0.0)
    pos_set = set(rng.sample(people, positives))
    truth = exposed(gatherings, pos_set, days)
    result = TownResult(devices=len(people), days=days, gatherings=len(gatherings))
    with InprocWorld(seed=seed, start_t=start, model="host", schedule=schedule) as w:
        for name in people:
            if name.startswith("T"):
                w.add_token(name)
                w.provision(name, days=days + 1)  # the stub's tuplesDays extension: no sync in between
            else:
                w.add_phone(name)
        for _day, t, length, where in gatherings:
            for name, pos in where.items():
                w.place(name, pos, at=start + t)
                w.place(name, None, at=start + t + length)
        end = start + days * DAY_S
        w.run_until(end - 3 * 3600)
        onset = (w.today() - timedelta(days=WINDOW_DAYS - 2))
        for name in sorted(pos_set):
            if name.startswith("T"):
                w.report(name, onset)
            else:
                w.phone_report(name, since_days=WINDOW_DAYS)
        w.run_until(end - 2 * 3600)
        for name in people:
            if name in pos_set:
                continue
            if name.startswith("T"):
                level = w.status(name).risk_level
                result.counts["token"].add(level == 4, name in truth)
            else:
                level = w.phone_status(name)
                result.counts["phone"].add(level == 4, name in truth)
        result.token_wakeups = w.events
    result.wall_s = time.perf_counter() - wall
    return result


def _district(args: tuple) -> TownResult:
    return run_district(*args)


def run_town(tokens: int = 300, phones: int = 700, days: int = 14, seed: int = 1,
             positives: int = 20, districts: int = 2, workers: int = 2,
             schedule: dict | None = None) -> TownResult:
    """The town in `districts` independent districts, `workers` processes at once."""
    wall = time.perf_counter()
    jobs = [(tokens // districts + (i < tokens % districts), phones // districts + (i < phones % districts),
             days, seed * 1000 + i, positives // districts + (i < positives % districts), schedule)
            for i in range(districts)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_district, jobs))
    else:
        parts = [_district(j) for j in jobs]
    total = TownResult(days=days)
    for p in parts:
        total.devices += p.devices
        total.gatherings += p.gatherings
        total.token_wakeups += p.token_wakeups
        for k in total.counts:
            total.counts[k].merge(p.counts[k])
    total.wall_s = time.perf_counter() - wall
    return total
