"""The GATT exchange in the air, between in-process nodes: who connects to whom, its timing, its failures."""

from __future__ import annotations

import os

from robert_token import power
from robert_token.scanner import build_advert, parse_advert

from hil_tests.sim import gatt
from hil_tests.sim.air import Advert, Air, Node
from hil_tests.sim.channel import AdvPlan, Channel
from hil_tests.sim.phone import Phone, has_robert_uuid
from robert import timeutil

T0 = 4_000_000_000.0


def _phone(name, os_kind, seed):
    """A phone with a few epochs of made-up tuples (no server: the air only needs HELLOs)."""
    p = Phone(name=name, seed=seed, os=os_kind)
    p.k_mac = os.urandom(32)
    first = timeutil.epoch_id(int(T0))
    p.tuples = {first + i: (os.urandom(8), i + 1) for i in range(12)}
    return p


class Beacon(Node):
    """A token-like advertiser with service data; connectable or not, it logs what is written."""

    def __init__(self, connectable):
        super().__init__(name="beacon")
        msg = bytes(range(16))
        self.adv = Advert(b"\xc1" * 6, build_advert(msg, 2, 0), AdvPlan(0.5, T0), connectable)
        self.written = []

    def on_exchange_write(self, t, payload, rssi):
        self.written.append((t, payload, rssi))
        return True


def _run(nodes, positions, seconds=1800, seed=3, channel=None):
    air = Air(T0, channel or Channel(), seed).start()
    try:
        for n in nodes:
            air.add_node(n)
        for n, pos in zip(nodes, positions, strict=True):
            air.place(n.name, pos)
        air.run_until(T0 + seconds)
        return dict(air.exchange_counts)
    finally:
        air.stop()


def test_iphone_writes_into_a_connectable_token_once_a_minute():
    beacon, max_ = Beacon(True), _phone("Max", "ios", 1)
    counts = _run([beacon, max_], [(0, 0), (1, 0)])
    assert 25 <= len(beacon.written) <= 31, counts  # at most one per peer a minute, 30 minutes
    times = [w[0] for w in beacon.written]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= gatt.PEER_INTERVAL_S - 1
    for _, payload, rssi in beacon.written:
        assert len(payload) == 18 and payload[16] == 2 and -100 <= rssi <= 0
    assert max_.by_channel["advert"] >= 25  # and it logged the token's service data


def test_a_non_connectable_token_never_gets_an_iphone_hello():
    """The old token: the iPhone hears it, but has no way to give it its HELLO."""
    beacon, max_ = Beacon(False), _phone("Max", "ios", 1)
    counts = _run([beacon, max_], [(0, 0), (1, 0)])
    assert beacon.written == []
    assert counts.get("not connectable", 0) >= 25 and max_.by_channel["advert"] >= 25


def test_android_reads_iphones_iphones_write_androids_and_read_each_other():
    droid, max_, eve = _phone("Droid", "android", 1), _phone("Max", "ios", 2), _phone("Eve", "ios", 3)
    counts = _run([droid, max_, eve], [(0, 0), (1, 0), (0, 1)], seconds=1200)
    assert droid.by_channel.get("written", 0) >= 30, (droid.by_channel, counts)  # from both iPhones
    assert droid.by_channel.get("read", 0) >= 20  # it reads both iPhones (4 s scan a minute)
    assert max_.by_channel.get("read", 0) >= 15 and eve.by_channel.get("read", 0) >= 15
    assert max_.by_channel.get("advert", 0) >= 15  # the Android's service data
    assert droid.by_channel.get("advert", 0) == 0  # an iPhone's advert has no HELLO to log


def test_exchange_timing_and_loss():
    rng = __import__("random").Random(5)
    ch = Channel()
    ex = [gatt.plan(ch, rng, 100.0, 0.5, 1.0, 0.0) for _ in range(200)]
    shortest = power.EXCHANGE_EVENTS * power.CONN_INTERVAL_MS / 1000.0
    assert all(e.ok for e in ex)
    assert all(e.t_end - 100.0 >= shortest - 1e-9 for e in ex)
    assert max(e.t_end - e.t_start for e in ex) < shortest * 2  # 5 % loss only adds a few events
    mean_s = sum(e.t_end - 100.0 for e in ex) / len(ex)
    assert shortest < mean_s < shortest + 0.5  # + half an advert interval on average
    far = gatt.plan(ch, rng, 100.0, 0.5, 300.0, 0.0)
    assert not far.ok and far.t_end - far.t_start >= gatt.CONNECT_TIMEOUT_S


def test_the_same_seed_replays_the_same_exchanges():
    runs = []
    for _ in range(2):
        beacon, max_ = Beacon(True), _phone("Max", "ios", 1)
        max_.k_mac = b"k" * 32
        max_.tuples = {timeutil.epoch_id(int(T0)) + i: (bytes([i]) * 8, 1) for i in range(4)}
        _run([beacon, max_], [(0, 0), (2, 0)], seconds=600)
        runs.append([(round(t, 6), p, r) for t, p, r in beacon.written])
    assert runs[0] == runs[1] and runs[0]


def test_iphone_advert_is_uuid_only():
    max_ = _phone("Max", "ios", 1)
    _, data = max_.advert_at(T0 + 5)
    assert parse_advert(data) is None and has_robert_uuid(data)
    assert len(max_.exchange_payload(T0 + 5)) == 18
    assert _phone("Droid", "android", 2).exchange_payload(T0) is None  # Android's is WRITE-only


def test_scenario_phones_take_an_os_and_a_plain_name_stays_an_android():
    import pytest

    from hil_tests.sim.scenario import ScenarioError, parse

    sc = parse('{"phones": ["P", {"name": "Max", "os": "ios"}], "end": 10}')
    assert sc.phones == ["P", "Max"] and sc.phone_os == {"P": "android", "Max": "ios"}
    with pytest.raises(ScenarioError, match=r"phones\[0\]: 'os' is"):
        parse('{"phones": [{"name": "Max", "os": "symbian"}]}')


def test_the_air_reads_connectable_adverts_and_refuses_odd_flags():
    import pytest

    from hil_tests.sim.air import AirMessageError, parse_token_message

    line = b'{"op":"adv","addr":"c0c0c0c0c0c0","data":"020106","interval_ms":500,"connectable":true}'
    assert parse_token_message(line)["connectable"] is True
    assert parse_token_message(line.replace(b',"connectable":true', b""))["connectable"] is False
    with pytest.raises(AirMessageError, match="connectable"):
        parse_token_message(line.replace(b"true", b'"yes"'))
