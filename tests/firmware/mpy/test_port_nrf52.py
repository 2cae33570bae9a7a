"""The nRF52840 port over doubles that keep CircuitPython's nordic C behaviours (fakehw/_bleio.py...).

Each test names the defect of issue 13 it guards; the doubles name the C
source of each behaviour. Time is the doubles' clock (`supervisor.now`),
moved only by sleeps and blocking calls, so every run is the same.
"""

import sys

if not hasattr(__import__("os"), "urandom"):  # the WebAssembly VM's os has no urandom; CircuitPython's has
    import os

    _r = [7]

    def _urandom(n):
        out = bytearray()
        for _ in range(n):
            _r[0] = (_r[0] * 1103515245 + 12345) & 0x7FFFFFFF
            out.append((_r[0] >> 16) & 0xFF)
        return bytes(out)

    os.urandom = _urandom

HERE = __file__.rsplit("/", 1)[0]
sys.path.insert(0, HERE + "/fakehw")
sys.path.insert(0, HERE + "/../../../firmware/ports/nrf52")

import _bleio  # noqa: E402 - the doubles above
import app as nrf_app  # noqa: E402
import circuitpy  # noqa: E402
import digitalio  # noqa: E402
import gatt  # noqa: E402
import microcontroller  # noqa: E402
import port as nrf  # noqa: E402
import startup  # noqa: E402
import storage  # noqa: E402
import supervisor  # noqa: E402
import usb_cdc  # noqa: E402
from fwtest import eq, ok, raises, run  # noqa: E402
from robert_token import frame, gatt_profile, hello, scanner  # noqa: E402
from robert_token.sync import Session  # noqa: E402
from robert_token.token import Token  # noqa: E402
from tokenkit import NOW, Kiosk, provision_payload, ready_token  # noqa: E402

startup._version = lambda: (10, 3, 0)  # the interpreters running this are not CircuitPython
_n = [0]


def fresh_port():
    _n[0] += 1
    return nrf.Nrf52Port(root="flash_nrf52_%d" % _n[0])


def booted(button_held=False):
    supervisor.sim_reset()
    circuitpy.hard_reset(button_held=button_held)


def ok_app(**kw):
    """A provisioned token in state OK, driven by the App loop."""
    booted()
    p = fresh_port()
    p, t, k = ready_token(p)
    a = nrf_app.App(port=p, token=t, **kw)
    return a, t, k


def drive(a, ms):
    """Run the loop for `ms` of board time; returns the sleeps it asked for."""
    end = supervisor.now[0] + ms
    sleeps = []
    while supervisor.now[0] < end:
        s = a.step()
        sleeps.append(s)
        supervisor.sim_advance(min(s, end - supervisor.now[0]) if end > supervisor.now[0] else s)
    return sleeps


def peer_advert(n=0):
    return scanner.build_advert(hello.build(b"x" * 32, 0x21, b"PEEREBI" + bytes((n,)), NOW), 0, 0)


# ------------------------------------------------------------ the doubles keep the C behaviours
def test_double_refuses_scan_while_advertising_and_double_advertising():
    booted()
    ad = _bleio.adapter
    ad.start_advertising(b"\x02\x01\x06", connectable=False, interval=0.5)
    e = raises(_bleio.BluetoothError, ad.start_scan, None, 512, False, 0.6, 0.6, 0.6)
    ok("0011" in str(e), str(e))  # Adapter.c start_scan: check_nrf_error(NRF_ERROR_BUSY)
    e = raises(_bleio.BluetoothError, ad.start_advertising, b"\x02\x01\x06")
    ok("Already advertising" in str(e), str(e))
    raises(_bleio.BluetoothError, setattr, ad, "address", _bleio.Address(b"123456", 1))
    ad.stop_advertising()
    raises(ValueError, ad.start_advertising, b"\x02\x01\x06", None, True, False, 0, 0.01)  # interval range
    raises(ValueError, _bleio.Characteristic.add_to_service, _bleio.Service(_bleio.UUID(0x1234)),
           _bleio.UUID(0x1235), 0, 1, 1, 513)  # max_length 0-512


def test_ticks_wrap_at_2_29_first_after_65_s():
    supervisor.sim_reset()
    ok(supervisor.ticks_ms() > (1 << 29) - 70000, "starts just below the wrap")
    supervisor.sim_advance(70000)
    ok(supervisor.ticks_ms() < 10000, "wrapped")
    eq(nrf_app.diff(5, (1 << 29) - 5), 10)


# ------------------------------------------------------------ defect 1: scan while advertising
def test_scan_window_pauses_the_hello_and_restores_it():
    booted()
    p = fresh_port()
    t = Token(p)
    k = Kiosk(Session(t))
    eq(k.call(frame.PROVISION, provision_payload())[0], 0)
    k.json(frame.SET_TIME, {"ntp": NOW})
    p.radio.advertise(b"\xc1\x02\x03\x04\x05\x06", b"\x02\x01\x06", 500, connectable=True)
    ad = _bleio.adapter
    ad.air = [[supervisor.now[0] + 100, _bleio.ScanEntry(b"\x06\x05\x04\x03\x02\xc1", peer_advert(), -65)]]
    p.radio.scan(600, 60000)
    start = supervisor.now[0]
    p.radio.scan_window(t.on_advert)  # the old port raised BluetoothError 0011 here
    eq(t.log.hellos, 1)
    eq(supervisor.now[0] - start, 600)
    ok(ad.advertising, "advertising again after the window")
    last = ad.on_air[-1]
    eq((last[0] - start, last[1], last[2], last[4], last[5]), (600, "start", b"\x02\x01\x06", True,
                                                               b"\x06\x05\x04\x03\x02\xc1"))
    from robert_token.aes import AES

    eq(p.aes_ecb(bytes(32)).encrypt(bytes(16)), AES(bytes(32)).encrypt(bytes(16)))
    ok(p.battery_mv() > 0, "battery")


def test_app_runs_scan_windows_for_minutes_while_advertising():
    a, t, _ = ok_app()
    ad = _bleio.adapter
    ad.air.append([supervisor.now[0] + 7, _bleio.ScanEntry(b"\x01\x02\x03\x04\x05\xc6", peer_advert(), -60), 250])
    drive(a, 200000)  # crosses the 2^29 tick wrap too (65.5 s after power-on)
    ok(ad.scans >= 3, "scanned %d times" % ad.scans)
    ok(t.log.hellos >= 1, "heard the peers")
    ok(ad.advertising, "still advertising")
    eq(t.info()["state"], "ok")


# ------------------------------------------------------------ defect 7: MTU, RX size, inbox size
def _kiosk_link(a, mtu):
    digitalio.sim_press("BUTTON", True)
    a.step()
    digitalio.sim_press("BUTTON", False)
    conn = _bleio.adapter.sim_connect()
    conn.sim_exchange_mtu(mtu)
    conn.sim_subscribe(a.gatt.tx)
    a.step()
    return conn


def test_sync_link_takes_mtu_sized_writes_and_a_maximal_frame():
    a, t, _ = ok_app()
    conn = _kiosk_link(a, 517)
    eq(conn.mtu, 512)  # Connection.c: min(512, client RX MTU)
    big = frame.encode(frame.ECHO, 9, b"y" * (frame.MAX_PAYLOAD - 1))  # its answer is a maximal 2060 bytes
    eq(len(big), 2059)
    for i in range(0, len(big), conn.max_packet_length):  # the bleak path writes MTU - 3
        ok(conn.sim_write(a.gatt.rx, big[i : i + conn.max_packet_length]), "write of %d refused" % conn.max_packet_length)
    eq(a.gatt.inbox.dropped, 0)
    a.step()
    d = frame.Decoder()
    d.feed(b"".join(conn.notified))
    eq(list(d.frames()), [(frame.ECHO | 0x80, 9, b"\x00" + b"y" * (frame.MAX_PAYLOAD - 1))])
    eq(sum(len(x) for x in conn.notified), 2060)
    ok(all(len(x) <= 509 for x in conn.notified) and max(len(x) for x in conn.notified) == 509, "509-byte pieces")


def test_notifications_follow_a_small_mtu():
    a, t, _ = ok_app()
    conn = _kiosk_link(a, 23)  # a central that never asks for more
    req = frame.encode(frame.ECHO, 3, b"z" * 300)
    for i in range(0, len(req), 20):
        ok(conn.sim_write(a.gatt.rx, req[i : i + 20]), "write")
    a.step()  # the old port notified 244-byte pieces: NRF_ERROR_DATA_SIZE
    ok(len(conn.notified) > 10 and all(len(x) <= 20 for x in conn.notified), "pieces of MTU - 3")
    d = frame.Decoder()
    d.feed(b"".join(conn.notified))
    eq(list(d.frames()), [(frame.ECHO | 0x80, 3, b"\x00" + b"z" * 300)])


# ------------------------------------------------------------ defect 13: name, re-advertising, LED
def test_sync_advert_fits_a_long_serial():
    booted()
    serial = "RT-" + "9" * 40
    adv, resp = gatt._sync_advert(serial)
    ok(len(resp) <= 31, "scan response %d bytes" % len(resp))
    eq(resp[1], 0x08)  # shortened local name
    _bleio.adapter.start_advertising(adv, scan_response=resp, connectable=True)  # the old one: ValueError
    service_le = int("6e0a00018b534d4a9f6c524f42455254", 16).to_bytes(16, "little")
    eq(adv, b"\x02\x01\x06\x11\x07" + service_le)
    eq(gatt._sync_advert("RT-1")[1], b"\x05\x09RT-1")


def test_sync_mode_advertises_again_after_the_kiosk_leaves():
    a, t, _ = ok_app()
    conn = _kiosk_link(a, 247)
    ok(not _bleio.adapter.advertising, "a connection stops the advert (Adapter.c)")
    conn.disconnect()
    drive(a, 100)
    ok(_bleio.adapter.advertising, "sync advert again")
    eq(_bleio.adapter._adv[0][:5], b"\x02\x01\x06\x11\x07")


def test_led_shows_every_20_ms_flash():
    a, t, _ = ok_app()
    t.busy_until = None
    drive(a, 62000)
    log = digitalio.sim_output("LED").log
    starts = [m for m, v in log if v]
    flashes = [b[0] - s for s, b in zip([m for m, v in log if v], [(m, v) for m, v in log if not v][1:])]
    ok(len([x for x in flashes if x == 20]) >= 5, "flashes %r" % (flashes,))
    ok(len(starts) >= 5, "starts")


# ------------------------------------------------------------ task 4: sleeping until due
def test_loop_sleeps_until_the_next_due_time_on_battery():
    a, t, _ = ok_app()
    supervisor.runtime.usb_connected = False
    drive(a, 5000)
    before = a.wakes
    drive(a, 120000)
    wakes = a.wakes - before
    ok(wakes < 400, "%d wake-ups in 2 min (polling every 50 ms: 2400)" % wakes)


# ------------------------------------------------------------ task 5: the FD64 exchange
def test_phone_writes_its_hello_into_the_exchange_characteristic():
    a, t, _ = ok_app()
    drive(a, 1000)  # past the first scan window: nothing else restarts the advert for a minute
    ad = _bleio.adapter
    data, sr, connectable = ad._adv[0], ad._adv[1], ad._adv[2]
    ok(connectable and sr == b"", "connectable, no scan response")
    ok(scanner.parse_advert(data) is not None, "FD64 service data")
    phone = ad.sim_connect()
    ch = ad.sim_characteristic(_bleio.UUID(gatt_profile.EXCHANGE_CHAR_UUID))
    ok(ch is not None and ch.properties & _bleio.Characteristic.WRITE, "WRITE characteristic")
    payload = hello.build(b"p" * 32, 0x21, b"PHONEEBI", NOW + 1) + b"\x02\xf6"
    before = t.log.hellos
    ok(phone.sim_write(ch, payload[:17], with_response=True), "a short write reaches the buffer")
    ok(phone.sim_write(ch, payload, with_response=True), "write")
    phone.disconnect()
    drive(a, 1500)
    eq(t.log.hellos, before + 1)  # the 17-byte one refused by on_hello_payload
    eq(a.exchange.kept, 1)
    ok(ad.advertising, "HELLO advertising again after the phone left")


def test_sync_service_ignores_writes_outside_sync_mode():
    a, t, _ = ok_app()
    a.step()
    stranger = _bleio.adapter.sim_connect()
    stranger.sim_subscribe(a.gatt.tx)
    stranger.sim_write(a.gatt.rx, frame.encode(frame.ECHO, 1, b"hi"))
    a.step()
    eq(stranger.notified, [])
    eq(a.gatt.inbox.in_waiting, 0)


# ------------------------------------------------------------ USB sync through the loop
def test_usb_frames_are_answered_by_the_loop():
    booted()
    p = fresh_port()
    a = nrf_app.App(port=p)
    eq(usb_cdc.data.timeout, 0)
    ok(usb_cdc.data.write_timeout > 0, "bounded writes")
    usb_cdc.data.rx.extend(frame.encode(frame.ECHO, 5, b"abc"))
    a.step()
    d = frame.Decoder()
    d.feed(bytes(usb_cdc.data.tx))
    eq(list(d.frames()), [(frame.ECHO | 0x80, 5, b"\x00abc")])


# ------------------------------------------------------------ defects 9 and 10: boot.py, resets
def test_boot_gives_the_flash_to_the_token_unless_the_button_is_held():
    booted()
    eq(storage.getmount("/").readonly, False)
    ok(usb_cdc.data is not None, "data port")
    ok(startup.check(), "runs")
    booted(button_held=True)
    eq(storage.getmount("/").readonly, True)  # the drive stays the computer's
    eq(startup.check(), False)
    ok("maintenance" in startup.report[-1], startup.report[-1])
    raises(RuntimeError, storage.remount, "/", False)  # after boot, visible over USB: refused


def test_code_after_a_flash_hard_resets_so_boot_runs():
    supervisor.sim_reset()
    circuitpy.hard_reset(boot_py=None)  # a fresh drive: no boot.py yet
    eq(usb_cdc.data, None)
    circuitpy.auto_reload()  # flash.py copied the files: code.py restarts, boot.py does not
    eq(usb_cdc.data, None)
    raises(RuntimeError, usb_cdc.enable, True, True)  # too late once USB is up
    n = microcontroller.resets[0]
    raises(microcontroller.HardReset, startup.check)
    eq(microcontroller.resets[0], n + 1)
    circuitpy.hard_reset()  # the board resets: now boot.py runs
    ok(usb_cdc.data is not None, "data port after the hard reset")
    ok(startup.check(), "runs")


def test_startup_reports_hashlib_and_refuses_old_circuitpython():
    booted()
    ok(startup.check(), "runs")
    ok(startup.report[1].startswith("hashlib sha256: "), startup.report[1])
    startup._version = lambda: (8, 2, 10)
    try:
        eq(startup.check(), False)
        ok("9 or later" in startup.report[-1], startup.report[-1])
    finally:
        startup._version = lambda: (10, 3, 0)


def test_core_uses_circuitpythons_hashlib_new():
    """CircuitPython's hashlib has only new("sha256"): the core used to fall back to pure SHA-256."""
    from robert_token import crypto
    from robert_token.sha256 import sha256 as pure

    class CpHashlib:  # shared-bindings/hashlib/__init__.c: new(name, data=b"") only
        calls = []

        @staticmethod
        def new(name, data=b""):
            CpHashlib.calls.append(name)
            return pure(data)

    f = crypto.native_sha256(CpHashlib)
    ok(f is not None, "hashlib.new found")
    h = f(b"abc")
    h.update(b"def")
    eq(h.digest(), pure(b"abcdef").digest())
    eq(CpHashlib.calls, ["sha256"])
    eq(crypto.native_sha256(object()), None)


def test_usb_takes_a_maximal_frame_through_the_1024_byte_fifo():
    booted()
    a = nrf_app.App(port=fresh_port())
    req = frame.encode(frame.ECHO, 6, b"q" * (frame.MAX_PAYLOAD - 1))
    usb_cdc.data.sim_host_send(req)  # 2059 bytes: more than the FIFO, the host waits (flow control)
    for _ in range(5):
        a.step()
    eq(usb_cdc.data.max_waiting, 1024)
    d = frame.Decoder()
    d.feed(bytes(usb_cdc.data.tx))
    eq(list(d.frames()), [(frame.ECHO | 0x80, 6, b"\x00" + b"q" * (frame.MAX_PAYLOAD - 1))])


def test_loop_survives_a_failing_pass_and_resets_after_ten():
    a, t, _ = ok_app(sleep=lambda s: supervisor.sim_advance(int(s * 1000)))
    ok(supervisor.runtime.ble_workflow is False, "CircuitPython's BLE workflow off")
    ad = _bleio.adapter
    real = ad.start_advertising
    fails = [2]

    def flaky(*args, **kw):
        if fails[0] > 0:
            fails[0] -= 1
            raise _bleio.BluetoothError("Unknown system firmware error: 0008")
        return real(*args, **kw)

    ad.start_advertising = flaky
    a.run(passes=40)
    eq(a.errors, 2)
    ok(ad.advertising, "advertising after the errors")
    fails[0] = 1000
    a.port.radio.current = (b"\xc1\x02\x03\x04\x05\x06", b"\x02\x01\x06", 500, True)
    ad.stop_advertising()
    n = microcontroller.resets[0]
    raises(microcontroller.HardReset, a.run, 100)
    eq(microcontroller.resets[0], n + 1)
    ad.start_advertising = real


run(globals())
