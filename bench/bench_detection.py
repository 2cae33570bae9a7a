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
    from hil_tests.sim import population

    town = Table("Town in one process (robert-bench town): the real token core, no process per token",
                 ["tokens", "phones", "days", "districts", "wall s", "device-days / s",
                  "token true+/false+/missed", "phone true+/false+/missed"])
    for tokens, phones, days in ((30, 70, 14),):
        r = population.run_town(tokens, phones, days, seed=1, positives=4, districts=2, workers=2)
        t, p = r.counts["token"], r.counts["phone"]
        town.rows.append([tokens, phones, days, 2, r.wall_s, r.devices * days / r.wall_s,
                          f"{t.tp}/{t.fp}/{t.fn}", f"{p.tp}/{p.fp}/{p.fn}"])
    town.note = ("1,000 devices for 14 days: `robert-bench town` (300 tokens, 700 phones, 2 districts); "
                 "see docs/bench.md for the measured time.")
    return [grid, battery, town]
