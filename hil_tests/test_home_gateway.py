"""A week with the real server's 4-day bundles: the home gateway keeps a token broadcasting.

Token H lives next to a home gateway: every day it opens its sync window, the
gateway hears it and runs its status flow. Token P only ever went to the
pharmacy: the kiosk said when its protection ends, its LED says "sync
needed" the day before, and on day 5 it is silent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway import home
from hil_tests.sim.world import World

pytestmark = pytest.mark.sim_only
DAY = 86400


def test_a_week_with_and_without_the_home_gateway(tmp_path):
    with World(tmp_path, seed=11) as w:
        for name in ("H", "P"):
            w.add_token(name)
            w.provision(name, days=4)  # tuplesDays 4: the real server's horizon (today + 3 days)
        ear = w.add_home_gateway((0, 0))
        w.place("H", (2, 0))
        w.place("P", (30, 0))
        start_day = w.today()
        view = w.status("P").token  # the pharmacist's status check right after provisioning
        told = home.protected_until_text(view)
        p_until = view.tuples_until
        assert told.startswith(f"Protected until {p_until:%Y-%m-%d}")
        assert p_until.date() == start_day + timedelta(days=4)  # end of today + 3 days
        synced = []
        for day in range(7):
            window_at = w.info("H")["sync"]["window_at"]
            assert window_at > w.now
            w.run_until(window_at + 20)
            heard = [t for t, _ in ear.windows if window_at <= t <= window_at + 20]
            assert heard, f"day {day}: the gateway did not hear H's sync window"
            out = w.home_sync("H")
            assert out.ok, out.text
            assert "Protected until" in out.text
            synced.append(out.protected_until)
            w.run_for(6 * 3600)
            h = w.info("H")
            assert h["radio"]["advertising"] and h["state"] == "ok", (day, h["state"])
            p = w.info("P")
            if w.now < p["sync"]["protected_until"] - DAY:
                assert p["led"] == "ok", (day, p["led"])
            elif w.now < p["sync"]["protected_until"]:
                assert p["led"] == "sync_needed" and p["radio"]["advertising"], (day, p["led"])
            else:
                assert not p["radio"]["advertising"] and p["state"] == "sync_needed", (day, p)
                assert w.today() >= start_day + timedelta(days=4)  # silent from day 5 on
        assert not w.info("P")["radio"]["advertising"]
        assert all(b > a for a, b in zip(synced, synced[1:], strict=False)), "each sync moves protection on"
        assert ear.windows and all(addr != b"" for _, addr in ear.windows)
