"""The air and its channel model, without token processes: windows, loss, seeds, bad input."""

from __future__ import annotations

import json
import socket
import statistics
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil_tests.sim.air import Advert, Air, AirMessageError, Node, parse_token_message
from hil_tests.sim.channel import AdvPlan, Channel, ScanPlan
from hil_tests.sim.scenario import ScenarioError, parse

T0 = 4_000_000_000.0


class Ear(Node):
    """A scanner that writes down what it hears."""

    def __init__(self, name, scan):
        super().__init__(name=name)
        self.scan = scan
        self.got = []

    def on_rx(self, t, addr, data, rssi):
        self.got.append((round(t, 6), addr, rssi))


def _air(seed=1, channel=None):
    return Air(T0, channel or Channel(), seed).start()


def _world(air, distance=1.0, adv_ms=500, window=2.0, interval=60.0):
    beacon = Node(name="beacon", adv=Advert(b"\xc0" * 6, b"\x02\x01\x06", AdvPlan(adv_ms / 1000, T0)))
    ear = Ear("ear", ScanPlan(window, interval, T0 + 7))
    air.add_node(beacon)
    air.add_node(ear)
    air.place("beacon", (0, 0))
    air.place("ear", (distance, 0))
    return ear


def test_a_scanner_hears_only_inside_its_windows():
    air = _air()
    try:
        ear = _world(air)
        air.run_until(T0 + 3600)
    finally:
        air.stop()
    assert 55 <= len(ear.got) <= 60  # one report per window; 60 windows, a few lost at most
    for t, _, _ in ear.got:
        phase = (t - (T0 + 7)) % 60.0
        assert phase < 2.0, f"heard at {phase:.3f} s into the cycle, outside the 2 s window"


def test_windows_shorter_than_the_advert_interval_miss_some():
    air = _air(channel=Channel(packet_loss=0.0, shadowing_db=0.0))
    try:
        ear = _world(air, adv_ms=1000, window=0.3)
        air.run_until(T0 + 6000)
    finally:
        air.stop()
    ratio = len(ear.got) / 100
    assert 0.15 < ratio < 0.5  # about window/interval = 0.3 of the windows catch an event


def test_same_seed_same_world_other_seed_other_world():
    runs = []
    for seed in (3, 3, 4):
        air = _air(seed)
        try:
            ear = _world(air, distance=8.0)
            air.run_until(T0 + 7200)
        finally:
            air.stop()
        runs.append(ear.got)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_rssi_falls_with_distance_and_far_is_silent():
    means = []
    for d in (1.0, 4.0, 16.0, 400.0):
        air = _air()
        try:
            ear = _world(air, distance=d, interval=10.0)
            air.run_until(T0 + 3600)
        finally:
            air.stop()
        means.append(statistics.mean(r for _, _, r in ear.got) if ear.got else None)
    assert abs(means[0] - Channel().rssi_at_1m) < 2
    assert means[0] > means[1] > means[2]
    assert means[3] is None


def test_moves_take_effect_at_their_time():
    air = _air()
    try:
        ear = _world(air)
        air.place("ear", None, at=T0 + 1800)
        air.run_until(T0 + 3600)
    finally:
        air.stop()
    assert ear.got and max(t for t, _, _ in ear.got) < T0 + 1800


def test_a_bad_line_is_counted_not_fatal():
    air = _air()
    try:
        with socket.create_connection(("127.0.0.1", air.port)) as s:
            s.sendall(b'{"op":"join","serial":"RT-X"}\n{"op":"adv","addr":"zz"}\nnot json\n')
            s.sendall(json.dumps({"op": "scan", "window_ms": 600, "interval_ms": 60000}).encode() + b"\n")
            deadline = time.monotonic() + 5
            while air.bad_lines < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            node = air.wait_join("RT-X")
            while node.scan is None and time.monotonic() < deadline:
                time.sleep(0.01)
        assert air.bad_lines == 2 and node.scan.window_s == 0.6
    finally:
        air.stop()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200),
                 st.dictionaries(st.sampled_from(["op", "addr", "data", "interval_ms", "window_ms",
                                                  "wake", "serial"]),
                                 st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=20),
                                           st.sampled_from(["adv", "scan", "idle", "join"])))
                 .map(lambda d: json.dumps(d).encode())))
def test_token_message_parser_only_raises_its_own_error(line):
    try:
        msg = parse_token_message(line)
    except AirMessageError as exc:
        assert str(exc)
    else:
        assert msg["op"] in ("join", "adv", "scan", "idle")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300),
                 st.fixed_dictionaries({}, optional={
                     "tokens": st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
                     "moves": st.lists(st.dictionaries(st.sampled_from(["t", "who", "at"]),
                                                       st.one_of(st.text(max_size=6), st.integers(),
                                                                 st.none())), max_size=3),
                     "steps": st.lists(st.dictionaries(st.sampled_from(["t", "do", "who", "expect"]),
                                                       st.text(max_size=8)), max_size=3),
                     "end": st.one_of(st.integers(), st.text(max_size=6))}).map(json.dumps)))
def test_scenario_parser_only_raises_scenario_error(text):
    try:
        parse(text)
    except ScenarioError as exc:
        assert str(exc)


def test_scenario_reads_and_explains():
    sc = parse(json.dumps({"seed": 2, "tokens": ["A", {"name": "B", "drift_ppm": 200}],
                           "phones": ["P"],
                           "moves": [{"t": "1h", "who": "A", "at": [0, 0]},
                                     {"t": "1h30m", "who": "A", "at": None}],
                           "steps": [{"t": "2h", "do": "status", "who": "B", "expect": "at_risk"}]}))
    assert sc.tokens["B"]["drift_ppm"] == 200 and sc.end == 7200
    assert sc.position("A", 3599) is None and sc.position("A", 3600) == (0, 0)
    assert sc.position("A", 5400) is None
    with pytest.raises(ScenarioError, match=r"steps\[0\]: unknown token or phone 'Z'"):
        parse('{"tokens": ["A"], "steps": [{"t": 0, "do": "status", "who": "Z"}]}')
    with pytest.raises(ScenarioError, match="cannot read the time"):
        parse('{"tokens": ["A"], "moves": [{"t": "soon", "who": "A", "at": [0, 0]}]}')


def test_real_time_mode_follows_the_wall_clock_until_paused():
    air = _air()
    try:
        ear = _world(air, interval=10.0)
        air.run_realtime(speed=1000.0)
        deadline = time.monotonic() + 20
        while air.now < T0 + 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        air.pause_realtime()
        paused_at = air.now
        time.sleep(0.3)
        assert air.now == paused_at > T0 + 300
        assert ear.got and all(T0 <= t <= paused_at for t, _, _ in ear.got)
    finally:
        air.stop()
