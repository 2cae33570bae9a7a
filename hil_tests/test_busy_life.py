"""Scenario 3: days of a busy life (about 5,000 observations a day).

Phones come and go around the token in the daytime (a different crowd each
day) and a colleague's token sits next to it. The log must stay within its
budget, forget day 1 on day 15, and a 14-day report must validate on the
server with no HELLO dropped for format reasons (or any other).
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from gateway import flows
from gateway.history import to_report_contacts
from robert.report import parse_report, validate_report
from server_stub.store import Store

CROWD = 12  # phones in town
PER_DAY = 7  # of which this many spend the day near the token
OBS_PER_DAY = 5000


class StoreKeys:
    """The server's keys from its own store, as report validation asks for them."""

    country_code = 0x21

    def __init__(self, store: Store) -> None:
        self.store = store
        self.k_g = store.k_g

    def k_s(self, day: int):
        return self.store.k_s(day)

    def k_mac(self, id_a: bytes):
        reg = self.store.registration(id_a)
        return None if reg is None else reg.k_mac


def _live_days(bench, tok, phones, days, rng):
    world = bench.world
    day0 = int(bench.now()) // 86400 * 86400
    for d in range(days):
        base = day0 + (d + 1) * 86400
        crowd = rng.sample(phones, PER_DAY)
        for name in crowd:
            world.place(name, (rng.uniform(-2.5, 2.5), rng.uniform(-2.5, 2.5)), at=base + 7 * 3600)
            world.place(name, None, at=base + 21 * 3600)
        bench.advance(base + 86400 - bench.now())
        for name in phones:  # the app checks its status every day and gets fresh tuples
            world.phone_status(name)


def _check(bench, tok, days: int):
    rng = random.Random(3)
    (colleague,) = bench.tokens(1)
    for t in (tok, colleague):
        bench.provision(t, days=min(30, days + 3))
    bench.place(tok, (0, 0))
    bench.place(colleague, (1, 1))
    phones = [f"P{i}" for i in range(CROWD)]
    for name in phones:
        bench.add_phone(name)
    start = bench.now()
    _live_days(bench, tok, phones, days, rng)

    log = bench.info(tok)["log"]
    assert log["bytes"] <= log["capacity"] and not log["full"]
    assert log["dropped_hellos"] == 0
    per_day = log["hellos"] / min(days, 14)
    assert per_day > 0.8 * OBS_PER_DAY, f"only {per_day:.0f} observations a day"
    if days >= 15:
        assert log["oldest"] >= bench.now() - 14 * 86400 - 86400, "day 1 was not purged"
        assert log["oldest"] > start + 86400

    # what the kiosk would send validates in full with the server's keys
    onset = bench.today() - timedelta(days=12)

    async def history(client, api):
        end = flows.clock_ntp(await api.clock())
        begin = flows.date_to_ntp(flows.report_window_start(onset, None, bench.today()))
        return (await flows.read_whole_history(client, begin, end, lambda *x: None))[1]

    contacts = to_report_contacts(bench.on_port(tok, history, timeout=5.0))
    _, parsed = parse_report({"token": "x" * 6, "contacts": contacts})
    store = Store(bench.kiosk.server_db)
    try:
        accepted, stats = validate_report(parsed, StoreKeys(store))
    finally:
        store.close()
    assert stats.hellos > 0.8 * OBS_PER_DAY * min(days, 12)
    assert sum(stats.dropped_hellos.values()) == 0, stats.dropped_hellos
    assert sum(stats.dropped_contacts.values()) == 0, stats.dropped_contacts

    result = bench.report(tok, onset=onset)
    assert result.delivered and result.acknowledged and result.hellos == stats.hellos


@pytest.mark.sim_only
def test_a_busy_day(bench):
    (tok,) = bench.tokens(1)
    _check(bench, tok, 1)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # about 4 minutes on an idle 2-core machine
@pytest.mark.sim_only
def test_fifteen_busy_days(bench):
    (tok,) = bench.tokens(1)
    _check(bench, tok, 15)
