"""Scenario 4: power cut at random instants while the log is being written.

Ten phones stand around the token so it logs a HELLO every few seconds. The
air runs in a thread while the test pulls the plug (SIGKILL) after a random
wall-clock delay, so cuts land anywhere: mid-write, mid-flush, between ticks.
Every record committed before a cut must still be there after the restart,
the log must stay readable, and the token carries on.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from gateway import flows
from gateway.history import parse_entries

PHONES = 10
CUTS = 6
MIN_WRITES = 1000


def _records(bench, tok) -> set:
    async def read(client, api):
        end = flows.clock_ntp(await api.clock()) + 60
        _, stream = await flows.read_whole_history(client, end - 15 * 86400, end, lambda *x: None)
        return stream
    out, ebid = set(), None
    for e in parse_entries(bench.on_port(tok, read)):  # raises on a torn or corrupt record
        if e[0] == "contact":
            ebid = e[2]
        else:
            out.add((ebid, e[1], e[3]))
    return out


@pytest.mark.sim_only  # the phones are simulated
@pytest.mark.needs_power_control
def test_power_cuts_during_log_writes_lose_no_committed_record(bench):
    rng = random.Random(4)
    (tok,) = bench.tokens(1)
    bench.provision(tok, days=4)
    bench.place(tok, (0, 0))
    for i in range(PHONES):
        bench.add_phone(f"P{i}")
        bench.place(f"P{i}", (rng.uniform(-2, 2), rng.uniform(-2, 2)))

    committed: set = set()
    for cut in range(CUTS):
        before = bench.info(tok)["log"]
        now_committed = _records(bench, tok)
        assert committed <= now_committed, f"cut {cut}: committed records vanished"
        committed = now_committed

        runner = threading.Thread(target=bench.advance, args=(rng.uniform(1800, 3 * 3600),))
        runner.start()
        time.sleep(rng.uniform(0.02, 0.6))
        bench.power_off(tok)  # SIGKILL wherever it is
        runner.join(60)
        assert not runner.is_alive()
        bench.power_on(tok)
        after = bench.info(tok)
        assert after["state"] == "ok", "the token did not come back to work"
        assert after["log"]["hellos"] >= before["hellos"]

    bench.advance(2 * 3600)  # it carries on: still logging after the last cut
    final = _records(bench, tok)
    assert committed <= final
    assert len(final) > len(committed)
    assert len(final) >= MIN_WRITES, f"only {len(final)} records written"
