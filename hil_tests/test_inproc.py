"""The in-process world (real token core, no process per token) against the per-process world.

Both play the same scenario files; the notifications must be the same, and the
in-process run must be the same twice (its outcome and every HELLO the server
scored), whatever the wall clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hil_tests.sim import runner
from hil_tests.sim.inproc import InprocWorld
from hil_tests.sim.scenario import load
from hil_tests.sim.world import World

SCENARIOS = Path(__file__).parent / "scenarios"


def _outcomes(world, sc) -> list[tuple[str, str, bool]]:
    return [(o.step.do, o.who, o.ok) for o in runner.play(world, sc, say=lambda s: None)]


@pytest.mark.sim_only
# near_and_far (1 m for 30 min) sits on the notification line of the settled schedule (docs/bench.md):
# under heavy load the per-process world once fell on the other side, so it is not compared here.
@pytest.mark.parametrize("name", ["bus_with_phone.json", "side_by_side.json"])
def test_same_notifications_as_the_per_process_world(tmp_path, name):
    sc = load(SCENARIOS / name)
    with InprocWorld(tmp_path / "inproc", seed=sc.seed, start_t=sc.start_ntp()) as fast:
        quick = _outcomes(fast, sc)
    with World(tmp_path / "world", seed=sc.seed, start_t=sc.start_ntp()) as world:
        slow = _outcomes(world, sc)
    assert quick == slow
    assert all(ok for _, _, ok in quick)  # the files' expectations hold (B at risk, C not...)


def _scored(sc, monkeypatch, wall: float) -> tuple:
    monkeypatch.setattr("time.time", lambda: wall)
    with InprocWorld(seed=sc.seed, start_t=sc.start_ntp()) as w:
        outcomes = _outcomes(w, sc)
        rows = w.store._db.execute("SELECT epoch_id, score FROM exposures ORDER BY epoch_id, score")
        return outcomes, [(e, round(s, 9)) for e, s in rows.fetchall()]


def test_the_same_scenario_and_seed_give_the_same_run_twice(monkeypatch):
    sc = load(SCENARIOS / "near_and_far.json")
    first = _scored(sc, monkeypatch, 1.9e9)
    second = _scored(sc, monkeypatch, 1.7e9)  # another wall clock changes nothing
    assert first == second
    assert first[1]  # something was scored: the comparison means something
    sc.seed += 1  # another seed draws another run
    assert _scored(sc, monkeypatch, 1.9e9)[1] != first[1]
