"""Scenario 1: two tokens 1 m apart for 30 minutes, a third 15 m away; one reports positive.

Also: a phone running the app and the tokens hear each other.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

pytestmark = pytest.mark.sim_only  # placement needs the simulated world


def test_near_token_at_risk_far_token_not(bench):
    a, b, c = bench.tokens(3)
    for tok in (a, b, c):
        bench.provision(tok)
    bench.place(a, (0, 0))
    bench.place(b, (1, 0))
    bench.place(c, (15, 0))
    bench.advance(30 * 60)
    bench.place(b, None)  # they part
    bench.place(c, None)
    bench.advance(60)
    heard = {t.name: bench.info(t)["log"]["hellos"] for t in (a, b, c)}
    assert heard[b.name] > 20 and heard[a.name] > 20, heard

    result = bench.report(a)
    assert result.delivered and result.acknowledged and result.hellos > 20

    bench.advance(35 * 60)  # the server scores at once; wait for the next status window
    near, far = bench.status(b), bench.status(c)
    assert near.risk_level == 4, near
    # robert-server randomises the date: the contact's day or the day before (never after today)
    assert near.last_contact in (bench.today(), bench.today() - timedelta(days=1)), near
    assert far.risk_level == 0, far
    assert near.token.headline.startswith("At risk") and far.token.headline == "Not at risk"


def test_tokens_and_phones_hear_each_other(bench):
    (tok,) = bench.tokens(1)
    bench.provision(tok)
    phone = bench.add_phone("Phone1")
    bench.place(tok, (0, 0))
    bench.place("Phone1", (0.5, 0))
    bench.advance(20 * 60)
    assert bench.info(tok)["log"]["hellos"] >= 5  # the app's HELLOs (version 2) are logged
    assert len(phone.heard_log) >= 5
    token_ebids = {h.ebid for h in phone.heard_log}
    assert len(token_ebids) >= 1
    shown = repr(phone) + str(phone)
    assert phone.k_mac.hex() not in shown and phone.k_tuples.hex() not in shown
    assert repr(phone.k_mac)[2:20] not in shown

    # the phone reports what it heard; the token is then at risk at its next status
    answer = bench.world.phone_report("Phone1")
    assert answer.get("success", True) is not False
    bench.advance(35 * 60)
    assert bench.status(tok).risk_level == 4


def test_a_phone_advertises_like_the_app(bench):
    from robert_token.scanner import parse_advert

    from robert import crypto, timeutil
    from server_stub.store import Store

    phone = bench.add_phone("Phone2")
    now = int(bench.now())
    boundary = timeutil.epoch_start(timeutil.epoch_id(now) + 1)
    seen = [(t, *phone.advert_at(t)) for t in range(boundary - 95, boundary + 95, 5)]
    store = Store(bench.kiosk.server_db)
    try:
        for (_, addr0, data0), (t1, addr1, data1) in zip(seen, seen[1:], strict=False):
            h0, h1 = parse_advert(data0), parse_advert(data1)
            assert h0[1] == 2, "the app's ROBERT payload version is 2"
            assert (h0[0][1:9] == h1[0][1:9]) == (addr0 == addr1), "address and EBID apart"
            assert abs(timeutil.time16_delta(h1[0][9] << 8 | h1[0][10], t1)) <= 30
        ebids = {parse_advert(d)[0][1:9] for _, _, d in seen}
        assert len(ebids) == 2  # the boundary is crossed once
        for t, _, data in seen:
            msg = crypto.parse_hello(parse_advert(data)[0])
            epoch, id_a = crypto.ebid_open(store.k_s(timeutil.day_of_epoch(timeutil.epoch_id(t))), msg.ebid)
            assert epoch == timeutil.epoch_id(t)
            assert crypto.verify_hello(store.registration(id_a).k_mac, msg)
    finally:
        store.close()
