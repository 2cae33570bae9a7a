"""The air client's side of the virtual-radio protocol (docs/architecture.md)."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ports.host.air import AirClient, AirProtocolError, AirRadio, parse_air_message

from .air_server import TinyAir


def test_parse_time_and_rx():
    assert parse_air_message(b'{"op":"time","t":3960000000.5}') == {"op": "time", "t": 3960000000.5}
    msg = parse_air_message(json.dumps(
        {"op": "rx", "t": 3960000001, "addr": "c0ffee000001", "data": "0201", "rssi": -70}).encode())
    assert msg == {"op": "rx", "t": 3960000001.0, "addr": bytes.fromhex("c0ffee000001"),
                   "data": b"\x02\x01", "rssi": -70}


@pytest.mark.parametrize("line, reason", [
    (b"not json", "not a JSON line"),
    (b"[1,2]", "JSON object"),
    (b'{"op":"fly"}', "unknown op"),
    (b'{"op":"time"}', "t must be"),
    (b'{"op":"time","t":"now"}', "t must be"),
    (b'{"op":"time","t":true}', "t must be"),
    (b'{"op":"time","t":-1}', "negative"),
    (b'{"op":"time","t":NaN}', "finite"),
    (b'{"op":"rx","t":1,"addr":"c0ffee","data":"","rssi":-1}', "addr must be 6 bytes"),
    (b'{"op":"rx","t":1,"addr":"zz","data":"","rssi":-1}', "not valid hex"),
    (b'{"op":"rx","t":1,"addr":"c0ffee000001","data":"","rssi":-300}', "out of range"),
    (b'{"op":"rx","t":1,"addr":"c0ffee000001","data":5,"rssi":-3}', "data must be a hex"),
    (b"\xff\xfe", "not a JSON line"),
])
def test_bad_lines_say_why(line, reason):
    with pytest.raises(AirProtocolError, match=reason):
        parse_air_message(line)


@given(st.binary(max_size=200))
def test_fuzz_bytes_parse_or_clear_error(line):
    try:
        msg = parse_air_message(line)
    except AirProtocolError as exc:
        assert str(exc)
        return
    assert msg["op"] in ("time", "rx", "write")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)


@given(st.dictionaries(st.sampled_from(["op", "t", "addr", "data", "rssi"]), _json)
       | st.fixed_dictionaries({"op": st.sampled_from(["time", "rx", "write"]), "t": _json,
                                "addr": _json, "data": _json, "rssi": _json}))
def test_fuzz_json_objects_parse_or_clear_error(obj):
    try:
        msg = parse_air_message(json.dumps(obj).encode())
    except AirProtocolError:
        return
    assert msg["t"] >= 0
    if msg["op"] == "rx":
        assert len(msg["addr"]) == 6 and -127 <= msg["rssi"] <= 20
    if msg["op"] == "write":
        assert isinstance(msg["data"], bytes) and len(msg["data"]) <= 512 and -127 <= msg["rssi"] <= 20


def test_parse_write_and_refuse_bad_ones():
    msg = parse_air_message(b'{"op":"write","t":5,"data":"00ff","rssi":-61.4}')
    assert msg == {"op": "write", "t": 5.0, "data": b"\x00\xff", "rssi": -61}
    for line, reason in [(b'{"op":"write","t":5,"data":"0","rssi":-6}', "not valid hex"),
                         (b'{"op":"write","t":5,"data":"00","rssi":99}', "out of range"),
                         (b'{"op":"write","t":5,"data":"' + b"00" * 513 + b'","rssi":-6}', "at most 512")]:
        with pytest.raises(AirProtocolError, match=reason):
            parse_air_message(line)


def test_connectable_adverts_say_so():
    sent = []
    radio = AirRadio(sent.append)
    assert radio.gatt_exchange is True
    radio.advertise(b"\xc0" * 6, b"\x02\x01\x06", 500, connectable=True)
    radio.advertise(b"\xc0" * 6, b"\x02\x01\x06", 500)
    assert sent[0]["connectable"] is True and "connectable" not in sent[1]


def test_radio_requests_become_adv_and_scan_messages():
    sent = []
    radio = AirRadio(sent.append)
    radio.advertise(bytes.fromhex("c1c2c3c4c5c6"), b"\x02\x01\x06", 250)
    radio.scan(500, 60000)
    radio.scan(None)
    radio.advertise(None)
    assert sent == [
        {"op": "adv", "addr": "c1c2c3c4c5c6", "data": "020106", "interval_ms": 250},
        {"op": "scan", "window_ms": 500, "interval_ms": 60000},
        {"op": "scan", "window_ms": 0, "interval_ms": 0},
        {"op": "adv", "addr": None},
    ]


def test_client_joins_answers_time_and_skips_bad_lines():
    """A real TCP air: join, a bad line is skipped, time is answered with idle, rx delivered."""
    air = TinyAir().start()
    heard = []

    async def token_side() -> AirClient:
        client = AirClient("127.0.0.1", air.port, "RT-00000042")
        await client.connect()
        await client.serve(lambda t: t + 30.0, lambda *rx: heard.append(rx))
        return client

    async def run() -> AirClient:
        task = asyncio.ensure_future(token_side())
        link = await asyncio.get_running_loop().run_in_executor(None, air.wait_join)
        assert link.serial == "RT-00000042"
        link.send_raw(b"{broken\n")
        link.rx(100.0, bytes.fromhex("c0c1c2c3c4c5"), b"\x01\x02", -60)
        wake = await asyncio.get_running_loop().run_in_executor(None, link.time, 100.5)
        assert wake == 130.5
        air.stop()
        return await asyncio.wait_for(task, 10)

    client = asyncio.run(run())
    assert heard == [(100.0, bytes.fromhex("c0c1c2c3c4c5"), b"\x01\x02", -60)]
    assert client.bad_lines == 1
