"""The detection study's key points, in the in-process world (the grid itself is robert-bench detection)."""

from __future__ import annotations

from robert_token import power

from hil_tests.sim import detection, detection_report
from hil_tests.sim.inproc import InprocWorld


def test_close_and_long_notified_far_not_token_as_phone():
    for pair in ("token<-token", "android<-android"):
        grid = detection.play_grid(pair, "consecutive", 0, 1, distances=(0.5, 10.0), minutes=(60,))
        assert grid == {(0.5, 60): True, (10.0, 60): False}, pair


def test_the_token_scans_densely_only_while_it_hears_someone():
    with InprocWorld(seed=3) as w:
        w.add_token("A")
        w.add_phone("P")
        w.provision("A")
        w.place("A", (0.0, 0.0))
        w.run_for(120)
        node = w.tokens["A"]
        idle = (power.DEFAULT_SCHEDULE["scan_window_ms"] / 1000, power.DEFAULT_SCHEDULE["scan_interval_ms"] / 1000)
        busy = (power.DEFAULT_SCHEDULE["busy_scan_window_ms"] / 1000,
                power.DEFAULT_SCHEDULE["busy_scan_interval_ms"] / 1000)
        assert busy != idle
        assert (node.scan.window_s, node.scan.interval_s) == idle  # alone
        w.place("P", (1.0, 0.0))
        w.run_for(180)
        assert (node.scan.window_s, node.scan.interval_s) == busy  # a phone is heard
        w.place("P", None)
        w.run_for(power.DEFAULT_SCHEDULE["busy_hold_s"] + 120)
        assert (node.scan.window_s, node.scan.interval_s) == idle  # alone again


def test_the_report_has_its_tables_and_plots(tmp_path):
    study = detection.run_study(1, None, pairs=("token<-token", "android<-android"),
                                modes=("consecutive",), distances=(1.0,), minutes=(30,), workers=1)
    path = detection_report.write([detection_report.Tried("default", None, study)], tmp_path)
    text = path.read_text()
    assert "| 1 m | token<-token |" in text and "months" in text
    for name in ("probability-consecutive.png", "frontier.png", "study.json"):
        assert (tmp_path / name).read_bytes()[:4] in (b"\x89PNG", b'{\n "')


def test_a_small_town_counts_notifications_against_ground_truth():
    from hil_tests.sim import population

    first = population.run_district(4, 6, 1, seed=5, positives=3)
    again = population.run_district(4, 6, 1, seed=5, positives=3)
    assert first.counts == again.counts  # the seed fixes the town and every draw
    total = sum(c.tp + c.fp + c.fn + c.tn for c in first.counts.values())
    assert total == 10 - 3  # every person but the positives asked once
    assert first.counts["token"].tp + first.counts["phone"].tp > 0  # someone was rightly warned


def test_ground_truth_follows_the_health_definition():
    from hil_tests.sim import population

    g = [(6, 0.0, 16 * 60, {"P": (0, 0), "A": (1.5, 0), "B": (3, 0)}),
         (6, 0.0, 10 * 60, {"P": (0, 0), "C": (1, 0)}), (6, 5e4, 6 * 60, {"P": (0, 0), "C": (1, 0)}),
         (0, 0.0, 60 * 60, {"P": (0, 0), "D": (1, 0)})]
    assert population.exposed(g, {"P"}, days=8) == {"A", "C"}  # B too far, D too long ago
