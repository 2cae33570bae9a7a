"""A scenario and its seed fix the run: the start against the epochs comes from the file or the seed."""

from __future__ import annotations

import json

import pytest

from hil_tests.sim import scenario
from hil_tests.sim.scenario import ScenarioError, default_start, parse


def _sc(**extra) -> scenario.Scenario:
    return parse(json.dumps({"seed": 32, "tokens": ["A"], **extra}))


def test_the_start_is_derived_from_the_seed_not_the_wall_clock(monkeypatch):
    first = _sc().start_ntp()
    monkeypatch.setattr("time.time", lambda: 2e9)  # a wall clock years away changes nothing
    assert _sc().start_ntp() == first == default_start(32)
    phases = {default_start(s) % scenario.EPOCH_S for s in range(17)}
    assert len(phases) == 17  # neighbouring seeds fall at different phases of the epoch


def test_an_explicit_start_wins_over_the_seed():
    sc = _sc(start="2026-06-01T07:05:30Z")
    assert sc.start_ntp() == 3989286330.0
    assert _sc(start=3989286330).start_ntp() == 3989286330.0


@pytest.mark.parametrize("bad", ["tomorrow", "2026-06-01T07:00:00", 12, True, [1]])
def test_a_bad_start_is_explained(bad):
    with pytest.raises(ScenarioError, match="start"):
        _sc(start=bad)
