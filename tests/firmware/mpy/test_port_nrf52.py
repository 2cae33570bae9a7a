"""The nRF52840 port's code over test doubles of CircuitPython's `_bleio`, `aesio`, board I/O."""

import sys

HERE = __file__.rsplit("/", 1)[0]
sys.path.insert(0, HERE + "/fakehw")
sys.path.insert(0, HERE + "/../../../firmware/ports/nrf52")

import _bleio  # noqa: E402 - the double above
import gatt  # noqa: E402
import port as nrf  # noqa: E402
from fwtest import eq, ok, run  # noqa: E402
from robert_token import frame, hello, scanner  # noqa: E402
from robert_token.sync import Session  # noqa: E402
from robert_token.token import Token  # noqa: E402
from tokenkit import NOW, Kiosk, provision_payload  # noqa: E402


def test_advertises_from_the_cores_address_little_endian():
    p = nrf.Nrf52Port(root="flash_nrf52")
    p.radio.advertise(b"\xc1\x02\x03\x04\x05\x06", b"\x02\x01\x06", 500)
    call = _bleio.adapter.calls[-1]
    eq(call[:4], ("adv", b"\x02\x01\x06", False, 0.5))
    eq(call[4].address_bytes, b"\x06\x05\x04\x03\x02\xc1")
    p.radio.advertise(None, None, None)
    eq(_bleio.adapter.advertising, False)


def test_scan_window_feeds_the_token_and_aes_matches():
    p = nrf.Nrf52Port(root="flash_nrf52b")
    t = Token(p)
    k = Kiosk(Session(t))
    eq(k.call(frame.PROVISION, provision_payload())[0], 0)
    k.json(frame.SET_TIME, {"ntp": NOW})
    adv = scanner.build_advert(hello.build(b"x" * 32, 0x21, b"PEEREBID", NOW), 0, 0)
    _bleio.adapter.air = [_bleio.ScanEntry(b"\x06\x05\x04\x03\x02\xc1", adv, -65)]
    p.radio.scan(600, 60000)
    p.radio.scan_window(t.on_advert)
    eq(t.log.hellos, 1)
    kw = [c for c in _bleio.adapter.calls if c[0] == "scan"][-1][1]
    eq((kw["active"], kw["timeout"]), (False, 0.6))
    from robert_token.aes import AES

    eq(p.aes_ecb(bytes(32)).encrypt(bytes(16)), AES(bytes(32)).encrypt(bytes(16)))
    ok(p.battery_mv() > 0, "battery")


def test_gatt_session_over_characteristic_buffer():
    p = nrf.Nrf52Port(root="flash_nrf52c")
    t = Token(p)
    g = gatt.GattSync(_bleio.adapter, lambda: Session(t))
    eq(g.service_link(), False)
    _bleio.adapter.connected = True
    g.inbox.data.extend(frame.encode(frame.ECHO, 4, b"x" * 600))
    eq(g.service_link(), True)
    d = frame.Decoder()
    d.feed(b"".join(g.tx.sent))
    eq(list(d.frames()), [(frame.ECHO | 0x80, 4, b"\x00" + b"x" * 600)])
    ok(all(len(x) <= gatt.PIECE for x in g.tx.sent), "pieces")
    _bleio.adapter.connected = False
    service_le = int("6e0a00018b534d4a9f6c524f42455254", 16).to_bytes(16, "little")
    adv, resp = gatt._sync_advert("RT-1")
    eq(adv, b"\x02\x01\x06\x11\x07" + service_le)
    eq(resp, b"\x05\x09RT-1")


run(globals())
