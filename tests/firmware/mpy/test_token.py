"""The scheduler: advertising only when it may, epoch change = new tuple + new address, LED."""

from fwtest import Port, eq, ok, run
from robert_token import frame, hello, scanner
from robert_token.epochs import epoch_of, epoch_start
from robert_token.token import Token
from tokenkit import K_MAC, NOW, ready_token


def _adv_hello(port):
    addr, data, interval = port.radio.adv
    parsed = scanner.parse_advert(data)
    ok(parsed is not None, "advertises a ROBERT HELLO")
    eq(parsed[1], 2, "version byte as the TousAntiCovid app sends it")
    return addr, parsed[0], interval


def test_silent_until_provisioned_and_clock_set():
    port = Port()
    t = Token(port)
    ok(t.tick() > 0, "sleep")
    eq((port.radio.adv, port.led.pattern), (None, "not_provisioned"))
    from robert_token.sync import Session
    from tokenkit import Kiosk, provision_payload

    Kiosk(Session(t)).call(frame.PROVISION, provision_payload())
    eq(port.led.pattern, "busy")
    port.clock.advance(t.tick())
    t.tick()
    eq((port.radio.adv, port.radio.scan_cfg, port.led.pattern), (None, None, "clock_unset"))


def test_advertises_valid_hello_and_rebuilds_it():
    port, t, k = ready_token()
    wait = t.tick()
    addr, h, interval = _adv_hello(port)
    eq(port.led.pattern, "ok")
    eq(addr[0] & 0xC0, 0xC0)
    ebid, ecc = t.tuples.find(epoch_of(NOW))
    eq(h, hello.build(K_MAC, ecc, ebid, NOW))
    ok(port.radio.scan_cfg is not None, "scanning")
    ok(0 < wait <= 20000, "wakes for the HELLO rebuild: %d" % wait)
    port.clock.advance(wait)
    t.tick()
    addr2, h2, _ = _adv_hello(port)
    eq(addr2, addr)
    eq(h2, hello.build(K_MAC, ecc, ebid, NOW + wait // 1000))
    ok(h2 != h, "new Time16 and MAC")


def test_epoch_change_takes_new_tuple_and_address_together():
    port, t, k = ready_token(count=3)
    t.tick()
    first_addr, first_hello, _ = _adv_hello(port)
    boundary_ms = (epoch_start(epoch_of(NOW) + 1) - NOW) * 1000
    waited = 0
    while waited < boundary_ms:
        w = t.tick()
        step = min(w, boundary_ms - waited)
        port.clock.advance(step)
        waited += step
        addr, h, _ = _adv_hello(port)
        ok(addr == first_addr and h[1:9] == first_hello[1:9], "same epoch, same address and EBID")
    t.tick()
    addr, h, _ = _adv_hello(port)
    ebid, ecc = t.tuples.find(epoch_of(NOW) + 1)
    ok(addr != first_addr, "new address")
    eq(h[1:9], ebid)
    eq(port.radio.addresses[-2:], [first_addr, addr])


def test_stops_when_tuples_run_out_and_shows_risk():
    port, t, k = ready_token(count=1)
    t.tick()
    ok(port.radio.adv is not None, "advertising")
    k.call(frame.STORE_STATUS, b'{"riskLevel": 4, "lastContactDate": null, "lastRiskScoringDate": null}')
    eq(port.led.pattern, "busy")  # a sync frame was just handled
    port.clock.advance(t.tick())
    port.clock.advance(t.tick())
    eq(port.led.pattern, "at_risk")
    port.clock.advance(901 * 1000)
    t.tick()
    eq(port.radio.adv, None)
    eq(port.led.pattern, "sync_needed")
    eq(k.json(frame.INFO)["state"], "sync_needed")
    # the status request still works, with the last EBID and its own epoch, to get a new bundle
    body = k.json(frame.AUTH_REQUEST, {"kind": "status"})
    eq(body["epochId"], epoch_of(NOW))
    eq(t.state(), "sync_needed")


def test_heard_hellos_logged_and_flushed_by_tick():
    port, t, k = ready_token(count=40)
    t.tick()
    other = scanner.build_advert(hello.build(b"p" * 32, 0x21, b"OTHEREBI", NOW), 0, -3)
    for i in range(5):
        port.clock.advance(60000)
        t.on_advert(b"\xc1\x02\x03\x04\x05\x06", other, -70, port.clock.ticks_ms())
        t.on_advert(b"\xc1\x02\x03\x04\x05\x06", b"\x02\x01\x06", -70, port.clock.ticks_ms())
    eq(t.log.hellos, 5)
    eq(t.log.bytes, 0)
    first_heard = 60000
    waited = 5 * 60000
    while t.log.bytes == 0 and waited < 3600000:
        w = t.tick()
        port.clock.advance(w)
        waited += w
    ok(t.log.bytes > 0, "batch written")
    ok(waited - first_heard <= t.log.flush_s * 1000 + 20000, "within flush_s (or at the epoch end)")
    eq(t.heard["adverts"], 10)


def test_flash_failure_does_not_stop_the_token():
    port, t, k = ready_token(count=40)
    t.tick()
    other = scanner.build_advert(hello.build(b"p" * 32, 0x21, b"OTHEREBI", NOW), 0, -3)
    t.on_advert(b"\xc1\x02\x03\x04\x05\x06", other, -70, port.clock.ticks_ms())
    port.storage.budget = 0  # the flash refuses every write from now on
    for _ in range(60):
        port.clock.advance(t.tick())
    ok(port.radio.adv is not None, "still advertising")
    ok(t.heard["storage_errors"] >= 1, "the failed batch was counted")
    port.storage.budget = None
    eq(t.info()["state"], "ok")


def test_hello_written_over_gatt_logged_like_an_advert():
    port, t, k = ready_token(count=40)
    t.tick()
    msg = hello.build(b"p" * 32, 0x21, b"IPHONEEB", NOW)
    payload = msg + bytes((1, (-10) & 0xFF))  # an old iOS SDK sends version 1; tx -10 dBm
    for bad in (b"", b"\x00", msg[:8], msg, msg + b"\x02", bytes(65), None, 17):
        eq(t.on_hello_payload(bad, -60, port.clock.ticks_ms()), False)
    eq(t.log.hellos, 0)
    ok(t.on_hello_payload(payload, -60, port.clock.ticks_ms()), "well-formed payload kept")
    eq(t.on_hello_payload(payload, -60, port.clock.ticks_ms()), False)  # the same write again: a repeat
    eq((t.log.hellos, t.heard["hellos"], t.heard["duplicates"]), (1, 1, 1))
    own = hello.build(K_MAC, t.ecc, t.ebid, NOW) + b"\x02\x00"
    eq(t.on_hello_payload(own, -60, port.clock.ticks_ms()), False)  # our own HELLO echoed back


run(globals())
