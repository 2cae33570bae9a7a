"""Detection summary: P(notified) token vs phone on a small grid, and the settled schedule's battery.

A reduced grid of `robert-bench detection` (the full study, with plots, is
that command): consecutive contacts, 4 seeds (epoch phases), the default
schedule, in the in-process world. Each cell is the percent of seeds whose
notified device was at risk at its next status.
"""

from __future__ import annotations

from robert_token import power

from bench.table import Table

DISTANCES = (0.5, 1.0, 2.0, 5.0, 10.0)
MINUTES = (15, 20, 30, 60, 120)
SEEDS = 4


def run() -> list[Table]:
    from hil_tests.sim import detection

    study = detection.run_study(SEEDS, None, modes=("consecutive",), distances=DISTANCES,
                                minutes=MINUTES, workers=2)
    grid = Table(f"Detection: % notified at the next status, consecutive contact, {SEEDS} seeds "
                 f"(in-process world, {study.wall_s:.0f} s)",
                 ["distance", "pair (notified<-positive)", *[f"{m} min" for m in MINUTES]])
    for d in DISTANCES:
        for pair in detection.PAIRS:
            grid.rows.append([f"{d:g} m", pair,
                              *[round(100 * study.p(pair, "consecutive", d, m)) for m in MINUTES]])
    ua, parts = power.average_current_ua()
    battery = Table("Settled schedule (power.DEFAULT_SCHEDULE): nRF52840 on 1000 mAh",
                    ["day profile", "average uA", "months", "scanning uA", "advertising uA"])
    battery.rows.append([f"{power.BUSY_HOURS:g} h among people, {24 - power.BUSY_HOURS:g} h alone",
                         ua, power.battery_months(), parts["scanning"], parts["advertising"]])
    for hours in (0.0, 16.0, 24.0):
        u, p = power.average_current_ua(busy_hours=hours)
        battery.rows.append([f"{hours:g} h among people", u, power.battery_months(busy_hours=hours),
                             p["scanning"], p["advertising"]])
    return [grid, battery]
