"""`robert-token --air` as a real process against a small real air (JSON lines over TCP)."""

from __future__ import annotations

import importlib
import json
import os
import struct
import zlib

import pytest

frame = importlib.import_module("robert_token.frame")
importlib.import_module("robert_token.sync")
hello = importlib.import_module("robert_token.hello")

from .air_server import TinyAir  # noqa: E402
from .usb_kiosk import UsbKiosk  # noqa: E402

T0 = 3976214400.0 + 30 * 86400  # virtual time: 2026-01-31
ROBERT_SERVICE = b"\x64\xfd"  # 0xFD64, little-endian in AD
TIME_START = 3799958400  # ROBERT's timeStart (NTP)


@pytest.fixture
def air():
    air = TinyAir().start()
    yield air
    air.stop()


def provision_payload(serial_no: str) -> bytes:
    config = {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": serial_no, "model": "nrf52840"}
    return os.urandom(64) + b"\x01" + os.urandom(5) + json.dumps(config).encode()


def phone_advert(ntp: int) -> bytes:
    """What a phone broadcasts: AD flags + service data 0xFD64 = HELLO || version || txPower."""
    msg = hello.build(os.urandom(32), 0x46, os.urandom(8), ntp)
    service_data = ROBERT_SERVICE + msg + b"\x00" + struct.pack("b", -5)
    return b"\x02\x01\x1a" + bytes([len(service_data) + 1, 0x16]) + service_data


def service_data(adv: bytes) -> bytes | None:
    """The 0xFD64 service data of an advert (AD structures), or None."""
    i = 0
    while i + 1 < len(adv):
        n, kind = adv[i], adv[i + 1]
        if kind == 0x16 and adv[i + 2:i + 4] == ROBERT_SERVICE:
            return adv[i + 4:i + 1 + n]
        i += 1 + n
    return None


def test_joins_with_its_serial_and_answers_time_with_a_wake(air, spawn_token):
    spawn_token("--serial", "RT-00000031", "--air", f"127.0.0.1:{air.port}")
    link = air.wait_join()
    assert link.serial == "RT-00000031"
    wake = link.time(T0)
    assert wake > T0
    wake2 = link.time(wake)
    assert wake2 > wake
    assert link.adv is None, "an unprovisioned token with no clock stays silent"


def test_received_hello_lands_in_the_log(air, spawn_token):
    token = spawn_token("--serial", "RT-00000032", "--air", f"127.0.0.1:{air.port}")
    link = air.wait_join()
    link.time(T0)
    with UsbKiosk(token.pty) as kiosk:
        kiosk.ok(frame.PROVISION, provision_payload("RT-00000032"))
        kiosk.json(frame.SET_TIME, {"ntp": int(T0)})
        assert kiosk.info()["log"]["hellos"] == 0
    t = T0 + 1
    for k in range(3):
        link.rx(t + k, os.urandom(6), phone_advert(int(t + k)), -60 - k)
    link.time(t + 5)
    link.send_raw(b'{"op":"rx","t":"soon"}\n')  # a bad line is skipped, not fatal
    link.time(t + 6)
    with UsbKiosk(token.pty) as kiosk:
        info = kiosk.info()
    assert info["log"]["hellos"] == 3
    assert "ignored a bad message from the air" in token.log()


def test_advertises_its_hello_and_changes_address_with_the_epoch(air, spawn_token):
    rc = importlib.import_module("robert.crypto")
    token = spawn_token("--serial", "RT-00000036", "--air", f"127.0.0.1:{air.port}")
    link = air.wait_join()
    link.time(T0)
    k_mac, k_tuples = os.urandom(32), os.urandom(32)
    first = int(T0 - TIME_START) // 900
    tuples = [(e, os.urandom(8), os.urandom(1)[0]) for e in range(first, first + 8)]
    blob = rc.tuples_seal(k_tuples, tuples)
    config = {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": "RT-00000036", "model": "host"}
    with UsbKiosk(token.pty) as kiosk:
        kiosk.ok(frame.PROVISION, k_mac + k_tuples + b"\x00" + bytes(5) + json.dumps(config).encode())
        kiosk.json(frame.SET_TIME, {"ntp": int(T0)})
        kiosk.ok(frame.BUNDLE_WRITE, struct.pack(">I", 0) + blob)
        kiosk.ok(frame.BUNDLE_COMMIT, struct.pack(">II", len(blob), zlib.crc32(blob)))
        assert kiosk.info()["state"] == "ok"
    seen = []
    t = T0 + 1
    while t < T0 + 1900:  # two epoch changes
        link.time(t)
        assert link.adv is not None, "a token with a tuple for the epoch advertises"
        sd = service_data(bytes.fromhex(link.adv["data"]))
        assert sd is not None and len(sd) == 18, link.adv
        epoch = int(t - TIME_START) // 900
        e, ebid, ecc = tuples[epoch - first]
        assert sd[1:9] == ebid, "the EBID of the current epoch"
        t16 = int.from_bytes(sd[9:11], "big")
        assert abs((int(t) & 0xFFFF) - t16) <= 60
        assert sd[11:16] == rc.hello_mac(k_mac, sd[0], ebid, t16)[:5], "HELLO MAC with K_A_mac"
        seen.append((epoch, link.adv["addr"]))
        t += 300
    by_epoch = {}
    for epoch, addr in seen:
        by_epoch.setdefault(epoch, set()).add(addr)
    assert len(by_epoch) >= 3
    assert all(len(a) == 1 for a in by_epoch.values()), "one address per epoch"
    addrs = [next(iter(a)) for a in by_epoch.values()]
    assert len(set(addrs)) == len(addrs), "a new address with each new EBID"


def test_drift_scales_the_wake(air, spawn_token, tmp_path):
    """The same core wake-up in timer ms is a longer virtual wait on a slow crystal."""
    spawn_token("--serial", "RT-00000033", "--air", f"127.0.0.1:{air.port}",
                "--drift-ppm", "-500", state=tmp_path / "slow")
    slow = air.wait_join()
    spawn_token("--serial", "RT-00000034", "--air", f"127.0.0.1:{air.port}",
                state=tmp_path / "exact")
    exact = air.wait_join()
    d_slow = slow.time(T0) - T0
    d_exact = exact.time(T0) - T0
    assert d_exact > 0
    assert d_slow == pytest.approx(d_exact / (1 - 500e-6), rel=1e-6)


def test_time_going_back_is_ignored(air, spawn_token):
    token = spawn_token("--serial", "RT-00000037", "--air", f"127.0.0.1:{air.port}")
    link = air.wait_join()
    assert link.time(T0 + 1000) >= T0 + 1000
    assert link.time(T0) >= T0 + 1000, "the clock never runs backwards"
    assert "time went back" in token.log()


def test_air_going_away_stops_the_token(air, spawn_token):
    token = spawn_token("--serial", "RT-00000035", "--air", f"127.0.0.1:{air.port}")
    air.wait_join().time(T0)
    air.stop()
    assert token.proc.wait(10) == 3
    assert "closed the connection" in token.log()


def test_an_iphone_write_lands_in_the_log_and_any_write_is_survived(air, spawn_token):
    """The FD64 exchange: a connectable advert, an 18-byte payload logged with the connection RSSI calibrated."""
    rc = importlib.import_module("robert.crypto")
    token = spawn_token("--serial", "RT-00000037", "--air", f"127.0.0.1:{air.port}")
    link = air.wait_join()
    link.time(T0)
    k_tuples = os.urandom(32)
    first = int(T0 - TIME_START) // 900
    blob = rc.tuples_seal(k_tuples, [(e, os.urandom(8), 7) for e in range(first, first + 4)])
    config = {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": "RT-00000037", "model": "host"}
    with UsbKiosk(token.pty) as kiosk:
        kiosk.ok(frame.PROVISION, os.urandom(32) + k_tuples + b"\x00" + bytes(5) + json.dumps(config).encode())
        kiosk.json(frame.SET_TIME, {"ntp": int(T0)})
        kiosk.ok(frame.BUNDLE_WRITE, struct.pack(">I", 0) + blob)
        kiosk.ok(frame.BUNDLE_COMMIT, struct.pack(">II", len(blob), zlib.crc32(blob)))
    link.time(T0 + 1)
    assert link.adv is not None and link.adv.get("connectable") is True, link.adv
    t = T0 + 2
    msg = hello.build(os.urandom(32), 0x46, os.urandom(8), int(t))
    link.send({"op": "write", "t": t, "data": (msg + b"\x02" + struct.pack("b", -10)).hex(), "rssi": -50})
    junk = [b"", b"\x00", msg, msg + b"\x02", os.urandom(200), b"\xff" * 17, os.urandom(65)]
    for k, data in enumerate(junk):
        link.send({"op": "write", "t": t + 1 + k, "data": data.hex(), "rssi": -40})
    link.send_raw(b'{"op":"write","t":1,"data":"zz","rssi":-40}\n')
    link.time(t + 20)
    with UsbKiosk(token.pty) as kiosk:
        info = kiosk.info()
    assert info["log"]["hellos"] == 1, info["heard"]  # only the well-formed 18-byte payload
    assert info["heard"]["ignored"] >= 5
    assert info["radio"]["advertising"], "still alive and advertising after the junk"
