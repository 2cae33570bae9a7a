"""Tokens among phones that behave like the real apps: iPhones reach tokens only through GATT.

An iPhone advertises only the service UUID (a token cannot parse a HELLO out
of it) and writes its payload into peers that show service data; the token
advertises connectable and logs what was written. Without that write a token
and an iPhone never learn of each other (ROBERT-PROTOCOL.md, "How the real
apps exchange HELLOs").
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sim_only  # placement and in-process phones need the simulated world


def _token_and_iphone(bench, minutes=60):
    (tok,) = bench.tokens(1)
    bench.provision(tok)
    phone = bench.add_phone("Max", "ios")
    bench.place(tok, (0, 0))
    bench.place("Max", (1, 0))
    bench.advance(minutes * 60)
    bench.place("Max", None)
    bench.place(tok, None)
    bench.advance(60)
    return tok, phone


def test_token_and_iphone_side_by_side_token_reports(bench):
    tok, phone = _token_and_iphone(bench)
    info = bench.info(tok)
    # the token heard the iPhone only through writes: about one a minute (connectionTimeInterval)
    assert info["log"]["hellos"] >= 45, info["heard"]
    assert info["radio"]["advertising"]
    counts = bench.world.air.exchange_counts
    assert counts["write ok"] >= 45, counts
    assert phone.by_channel.get("advert", 0) >= 45, phone.by_channel  # the token's service data
    assert phone.by_channel.get("written", 0) == 0

    result = bench.report(tok)
    assert result.delivered and result.acknowledged and result.hellos >= 45
    bench.advance(35 * 60)
    assert bench.world.phone_status("Max") == 4


def test_token_and_iphone_side_by_side_iphone_reports(bench):
    tok, phone = _token_and_iphone(bench)
    answer = bench.world.phone_report("Max")
    assert answer.get("success", True) is not False
    bench.advance(35 * 60)
    assert bench.status(tok).risk_level == 4


def test_mixed_room_every_close_pair_is_notified(tmp_path):
    """Tokens, an Android and two iPhones an hour together; a token and an iPhone report.

    Everyone else is at risk, and each reporter is at risk from the other: token <-> iPhone
    (writes one way, service data the other), token <-> Android (adverts), Android <-> iPhone
    (the iPhone writes, the Android reads), iPhone <-> iPhone (reads), token <-> token.
    """
    from pathlib import Path

    from hil_tests.sim import runner, scenario
    from hil_tests.sim.world import World

    sc = scenario.load(Path(__file__).parent / "scenarios" / "mixed_room.json")
    with World(tmp_path, seed=sc.seed) as world:
        outcomes = runner.play(world, sc, say=lambda _line: None)
        counts = dict(world.air.exchange_counts)
        eve = world.phones["Eve"]
    failed = [o.text for o in outcomes if not o.ok]
    assert not failed, (failed, counts)
    assert counts.get("write ok", 0) > 100 and counts.get("read ok", 0) > 50, counts
    assert eve.by_channel.get("read", 0) > 0 and eve.by_channel.get("advert", 0) > 0
