"""The detection study: how likely a contact is notified, by device pair, distance and minutes.

Ground truth is the scenario itself: a device at a known distance from a
positive one for a known number of minutes. One in-process world
(`inproc.InprocWorld`: the real token core, the stub server, the kiosk and
app flows) plays a whole grid at once: per distance, one positive device
stays put and one device per duration stands on a ring of that radius around
it, arriving and leaving at the grid's times; rings are 10 km apart. Only the
positive's report is scored, so what the ring's devices hear of each other
plays no part (the positive's one-report-per-advertiser-per-window is the
air's rule whatever the crowd):

- the positive reports at the end of the day (kiosk report for a token, the
  app's report for a phone), then the other one asks its status (kiosk status
  or the app's) half an hour later: the outcome is "notified at the next
  status";
- "consecutive": the contact starts 1 h into the run; "cumulated": three
  equal bouts at 1 h, 4 h and 7 h (the health definition counts both);
- the run's start is the day's 07:00 UTC plus a phase that seed i of n puts
  at i * 900 / n s into the epoch: the study sweeps the phase of the contact
  against the 15-minute epochs (each epoch is scored apart) explicitly.

Pairs are named `notified<-positive`: `token<-android` is a token near a
positive Android phone (what the token heard of the phone does not matter:
the positive's report of what *it* heard of the token is scored).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from hil_tests.sim.inproc import InprocWorld
from hil_tests.sim.scenario import parse_start

PAIRS = ("token<-token", "token<-android", "android<-token", "android<-android")
DISTANCES_M = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
MINUTES = (5, 10, 15, 20, 30, 45, 60, 120)
MODES = ("consecutive", "cumulated")
DAY_START = "2026-06-01T07:00:00Z"
CONTACT_AT_S = 3600.0
BOUTS_AT_S = (3600.0, 4 * 3600.0, 7 * 3600.0)
REPORT_AT_S = 10 * 3600.0
STATUS_AT_S = REPORT_AT_S + 1800.0
SPACING_M = 10_000.0
MODEL = "host"  # gains of the sim phone's scale (0, 0): see docs/bench.md, "Calibration"


# The schedules the frontier tries (overrides of power.DEFAULT_SCHEDULE); "default" is the settled one.
SCHEDULES: dict[str, dict | None] = {
    "default": None,  # idle 300 ms/60 s, busy 300 ms/10 s, hold 120 s
    "fixed 600ms/60s (before)": {"scan_window_ms": 600, "busy_scan_window_ms": 600,
                                 "busy_scan_interval_ms": 60000},
    "busy 500ms/10s, idle 600ms/60s": {"scan_window_ms": 600, "busy_scan_window_ms": 500},
    "busy 300ms/20s": {"busy_scan_interval_ms": 20000},
    "busy 300ms/10s, adv 250ms": {"adv_interval_ms": 250},
}


@dataclass(frozen=True)
class Cell:
    pair: str
    mode: str
    distance_m: float
    minutes: int


@dataclass
class Tally:
    notified: int = 0
    runs: int = 0

    @property
    def p(self) -> float:
        return self.notified / self.runs if self.runs else math.nan

    def ci95(self) -> float:
        """Half-width of the 95 % interval (Wilson, so 0/n and n/n get one too)."""
        n, z = self.runs, 1.96
        if not n:
            return math.nan
        p = self.p
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(abs(centre + half - p), abs(p - (centre - half)))


@dataclass
class Study:
    schedule: dict | None
    seeds: int
    tallies: dict[Cell, Tally] = field(default_factory=dict)
    wall_s: float = 0.0

    def add(self, cell: Cell, notified: bool) -> None:
        t = self.tallies.setdefault(cell, Tally())
        t.runs += 1
        t.notified += int(notified)

    def p(self, pair: str, mode: str, d: float, m: int) -> float:
        return self.tallies[Cell(pair, mode, d, m)].p


def _kind(name: str) -> str:
    return "token" if name == "token" else "phone"


def play_grid(pair: str, mode: str, seed: int, seeds: int, schedule: dict | None = None,
              distances: Iterable[float] = DISTANCES_M, minutes: Iterable[int] = MINUTES
              ) -> dict[tuple[float, int], bool]:
    """One world, one seed: every (distance, minutes) cell of a pair and mode; notified or not."""
    notified_kind, positive_kind = pair.split("<-")
    phase = (seed * 900) // max(1, seeds)
    start = parse_start(DAY_START) + phase
    minutes = tuple(minutes)
    with InprocWorld(seed=seed * 7919 + PAIRS.index(pair) * 31 + MODES.index(mode),
                     start_t=start, model=MODEL, schedule=schedule) as w:
        def add(name: str, kind: str) -> None:
            if kind == "token":
                w.add_token(name)
                w.provision(name)
            else:
                w.add_phone(name)

        positives, notified = [], {}
        for i, d in enumerate(distances):
            centre = (i * SPACING_M, 0.0)
            p = f"P{i}"
            add(p, positive_kind)
            positives.append(p)
            w.place(p, centre)
            for j, m in enumerate(minutes):
                a = f"N{i}x{j}"
                add(a, notified_kind)
                notified[(d, m)] = a
                angle = 2 * math.pi * j / len(minutes)
                where = (centre[0] + d * math.cos(angle), centre[1] + d * math.sin(angle))
                bouts = [(CONTACT_AT_S, m * 60.0)] if mode == "consecutive" else \
                    [(at, m * 20.0) for at in BOUTS_AT_S]
                for at, length in bouts:
                    w.place(a, where, at=start + at)
                    w.place(a, None, at=start + at + length)
        w.run_until(start + REPORT_AT_S)
        for p in positives:
            if positive_kind == "token":
                w.report(p)
            else:
                w.phone_report(p)
        w.run_until(start + STATUS_AT_S)
        out = {}
        for (d, m), a in notified.items():
            if notified_kind == "token":
                level = w.status(a).risk_level
            else:
                level = w.phone_status(a)
            out[(d, m)] = level == 4
        return out


def _job(args: tuple) -> tuple:
    pair, mode, seed, seeds, schedule, distances, minutes = args
    return pair, mode, play_grid(pair, mode, seed, seeds, schedule, distances, minutes)


def run_study(seeds: int = 8, schedule: dict | None = None, pairs: Iterable[str] = PAIRS,
              modes: Iterable[str] = MODES, distances: Iterable[float] = DISTANCES_M,
              minutes: Iterable[int] = MINUTES, workers: int = 2) -> Study:
    """The grid over `seeds` seeds (phases), `workers` processes at once."""
    study = Study(schedule, seeds)
    jobs = [(p, mo, s, seeds, schedule, tuple(distances), tuple(minutes))
            for p in pairs for mo in modes for s in range(seeds)]
    t0 = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_job, jobs))
    else:
        results = [_job(j) for j in jobs]
    for pair, mode, grid in results:
        for (d, m), notified in grid.items():
            study.add(Cell(pair, mode, d, m), notified)
    study.wall_s = time.perf_counter() - t0
    return study


def to_json(study: Study) -> str:
    return json.dumps({"schedule": study.schedule, "seeds": study.seeds, "wall_s": study.wall_s,
                       "cells": [{"pair": c.pair, "mode": c.mode, "distance_m": c.distance_m,
                                  "minutes": c.minutes, "notified": t.notified, "runs": t.runs}
                                 for c, t in sorted(study.tallies.items(),
                                                    key=lambda kv: (kv[0].pair, kv[0].mode,
                                                                    kv[0].distance_m, kv[0].minutes))]},
                      indent=1)
