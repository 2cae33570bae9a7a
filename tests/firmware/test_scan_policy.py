"""Adaptive scanning: dense windows while neighbours are heard, sparse ones alone; one schedule for the
scheduler and the power model."""

from robert_token import power, scanner

SCHED = dict(power.DEFAULT_SCHEDULE, scan_window_ms=300, scan_interval_ms=60000,
             busy_scan_window_ms=400, busy_scan_interval_ms=10000, busy_hold_s=120)


def test_busy_while_heard_then_idle_after_the_hold():
    p = scanner.ScanPolicy(SCHED)
    assert p.plan(0) == (300, 60000)  # alone from the start
    p.heard(5000)
    assert p.plan(5000) == (400, 10000)
    assert p.plan(5000 + 119_999) == (400, 10000)
    assert p.plan(5000 + 120_000) == (300, 60000)


def test_a_schedule_without_a_busy_plan_scans_as_before():
    p = scanner.ScanPolicy({"scan_window_ms": 600, "scan_interval_ms": 60000})
    p.heard(0)
    assert p.plan(1) == (600, 60000)


def test_the_default_schedule_lasts_a_year_on_the_stated_day_profile():
    assert power.battery_months() >= 12.0
    # the dense plan costs: all day among people it would not last a year, alone it lasts longer
    assert power.battery_months(busy_hours=24) < power.battery_months() < power.battery_months(busy_hours=0)
