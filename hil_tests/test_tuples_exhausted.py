"""Scenario 6: tuples run out: the token goes quiet, the kiosk says "Sync needed", a status
sync at the kiosk brings it back."""

from __future__ import annotations

import pytest


def _run_out(bench, tok):
    bench.provision(tok, days=4)
    info = bench.info(tok)
    assert info["state"] == "ok"
    bench.advance(3 * 86400)  # 4 days of tuples: still fine after 3
    assert bench.info(tok)["state"] == "ok"
    for _ in range(3 * 24):  # then an hour at a time, 3 more days at most
        bench.advance(3600)
        if bench.info(tok)["state"] == "sync_needed":
            return
    pytest.fail("the token never ran out of tuples")


@pytest.mark.sim_only  # five days of virtual time
def test_out_of_tuples_goes_quiet_says_sync_needed_and_a_status_restores_it(bench):
    from gateway import flows

    (tok,) = bench.tokens(1)
    _run_out(bench, tok)
    view = flows.token_view(bench.info(tok))
    assert view.headline == "Sync needed"
    last = bench.sniffer(tok)[-1]
    assert last.addr is None, "the token still advertises without a tuple for now"
    before = len(bench.sniffer(tok))
    bench.advance(3600)
    assert len(bench.sniffer(tok)) == before, "it advertised again with no tuple"

    result = bench.status(tok)  # signed with its last tuple; the answer brings new ones
    assert result.tuples_written > 0 and result.token.state == "ok"
    assert result.token.headline == "Not at risk"
    bench.advance(120)
    assert bench.sniffer(tok)[-1].addr is not None, "advertising did not resume"
