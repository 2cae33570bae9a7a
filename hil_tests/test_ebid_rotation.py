"""Scenario 2: EBID rotation as a sniffer sees it.

Every epoch the token sends a new EBID from a new address at the same
instant; never an old EBID from a new address or the reverse; the HELLOs
validate with the server's own keys.
"""

from __future__ import annotations

import pytest
from robert_token.scanner import parse_advert

from robert import crypto, timeutil
from server_stub.store import Store

pytestmark = pytest.mark.needs_radio_sniffer
CLOCK_SKEW_S = 5  # the token's clock is set from the server during a sync that takes wall time


def test_new_ebid_and_new_address_together_every_epoch(bench):
    (tok,) = bench.tokens(1)
    bench.provision(tok)
    start = bench.now()
    bench.advance(2 * 3600 + 60)
    seen = [s for s in bench.sniffer(tok) if s.addr is not None and s.t >= start]
    assert len(seen) > 100  # a rebuild every <= 30 s: ~250 in 2 hours

    hellos = []
    for prev, cur in zip(seen, seen[1:], strict=False):
        assert cur.t - prev.t <= 30.5, "HELLO not rebuilt within 30 s"
        old, new = parse_advert(prev.data)[0], parse_advert(cur.data)[0]
        same_ebid, same_addr = old[1:9] == new[1:9], prev.addr == cur.addr
        assert same_ebid == same_addr, f"EBID and address changed apart at t={cur.t}"
    for s in seen:
        hellos.append((s.t, parse_advert(s.data)[0]))
    ebids = {h[1:9] for _, h in hellos}
    assert len(ebids) in (8, 9, 10)  # 2 h of 15-minute epochs
    assert len({s.addr for s in seen}) == len(ebids)

    store = Store(bench.kiosk.server_db)
    try:
        for t, h in hellos:
            msg = crypto.parse_hello(h)
            epoch = timeutil.epoch_id(int(t) + CLOCK_SKEW_S)
            k_s = store.k_s(timeutil.day_of_epoch(epoch))
            opened_epoch, id_a = crypto.ebid_open(k_s, msg.ebid)
            assert opened_epoch in (timeutil.epoch_id(int(t)), epoch)
            reg = store.registration(id_a)
            assert reg is not None and crypto.verify_hello(reg.k_mac, msg)
            assert crypto.ecc(store.k_g, msg.ebid, 0) ^ msg.ecc == crypto.COUNTRY_FRANCE
            assert timeutil.time16_matches(msg.time16, int(t) + CLOCK_SKEW_S)
    finally:
        store.close()
