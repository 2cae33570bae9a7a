"""The ESP32 port's code over test doubles of `bluetooth`, `machine`, `cryptolib` (no board here)."""

import sys
import time

if not hasattr(time, "ticks_ms"):  # CPython: MicroPython's tick functions, for the port's code
    time.ticks_ms = lambda: int(time.monotonic() * 1000) % (1 << 30)
    time.ticks_diff = lambda a, b: ((a - b + (1 << 29)) % (1 << 30)) - (1 << 29)
    time.ticks_add = lambda a, b: (a + b) % (1 << 30)

if not hasattr(__import__("os"), "urandom"):  # the WebAssembly VM's os has no urandom; ESP32's has
    import os
    import random

    os.urandom = lambda n: bytes(random.getrandbits(8) for _ in range(n))

HERE = __file__.rsplit("/", 1)[0]
sys.path.insert(0, HERE + "/fakehw")
sys.path.insert(0, HERE + "/../../../firmware/ports/esp32")

import bluetooth  # noqa: E402 - the double above
import gatt  # noqa: E402
import port as esp32  # noqa: E402
from fwtest import eq, ok, run  # noqa: E402
from robert_token import frame, scanner  # noqa: E402
from robert_token.sync import Session  # noqa: E402
from robert_token.token import Token  # noqa: E402
from tokenkit import Kiosk, provision_payload  # noqa: E402

_n = [0]


def _token():
    _n[0] += 1
    ble = bluetooth.BLE()
    p = esp32.Esp32Port(ble, root="flash_esp32_%d" % _n[0])
    t = Token(p)
    k = Kiosk(Session(t))
    eq(k.call(frame.PROVISION, provision_payload())[0], 0)
    return ble, p, t, k


def test_port_interface_and_hardware_aes():
    ble, p, t, k = _token()
    eq(p.battery_mv(), 2900)
    eq(len(p.random(6)), 6)
    from robert_token.aes import AES

    key = bytes(range(32))
    eq(p.aes_ecb(key).encrypt(bytes(16)), AES(key).encrypt(bytes(16)))
    eq(k.json(frame.INFO)["provisioned"], True)


def test_advertising_rotates_address_mode_and_scans_in_windows():
    ble, p, t, k = _token()
    r = p.radio
    r.advertise(b"\xc1\x02\x03\x04\x05\x06", b"\x02\x01\x06", 500)
    r.advertise(b"\xc1\x02\x03\x04\x05\x06", b"\x02\x01\x06", 500)
    r.advertise(b"\xc9\x02\x03\x04\x05\x06", b"\x02\x01\x06", 500)
    configs = [c for c in ble.calls if c[0] == "config"]
    eq(len(configs), 2)  # once per new address, not per HELLO rebuild
    adv = [c for c in ble.calls if c[0] == "adv" and c[1] is not None]
    eq(adv[-1][1:], (500000, b"\x02\x01\x06", None, False))
    r.scan(600, 60000)
    r.service()
    scans = [c for c in ble.calls if c[0] == "scan" and c[1] is not None]
    eq(scans[-1], ("scan", 600, 600000, 600000, False))
    n = len(ble.calls)
    r.service()  # not due again before 60 s
    eq(len(ble.calls), n)


def test_scan_irq_queue_is_bounded_and_feeds_the_token():
    ble, p, t, k = _token()
    adv = scanner.build_advert(bytes(range(16)), 0, 0)
    for _ in range(esp32.RX_QUEUE + 5):
        p.radio.on_irq(5, (1, memoryview(b"\x01\x02\x03\x04\x05\x06"), 3, -60, memoryview(adv)))
    eq(len(p.radio.queue), esp32.RX_QUEUE)
    eq(p.radio.dropped, 5)
    addr, data, rssi, ticks = p.radio.queue.pop(0)
    eq(data, adv)
    t.on_advert(addr, data, rssi, ticks)
    eq(t.heard["adverts"], 1)


def test_gatt_sync_answers_by_notify_in_mtu_pieces():
    ble, p, t, k = _token()
    g = gatt.GattSync(ble, lambda: Session(t))
    g.on_irq(1, (7, 0, b"\x00" * 6))
    g.on_irq(21, (7, 50))
    ble.values[g.rx] = frame.encode(frame.INFO, 3, b"")
    g.on_irq(3, (7, g.rx))
    g.service()
    pieces = [c[3] for c in ble.calls if c[0] == "notify"]
    ok(len(pieces) > 1 and all(len(x) <= 47 for x in pieces), "cut at MTU - 3")
    d = frame.Decoder()
    d.feed(b"".join(pieces))
    (ftype, seq, body), = list(d.frames())
    eq((ftype, seq, body[0]), (frame.INFO | 0x80, 3, 0))
    g.start_sync_mode("RT-1")
    last = [c for c in ble.calls if c[0] == "adv"][-1]
    eq(last[4], True)  # connectable for the kiosk
    service_le = int("6e0a00018b534d4a9f6c524f42455254", 16).to_bytes(16, "little")
    eq(last[2], b"\x02\x01\x06\x11\x07" + service_le)  # flags, then the sync service UUID (128-bit, LSB first)
    g.on_irq(2, (7, 0, b"\x00" * 6))
    eq(g.session, None)


run(globals())
