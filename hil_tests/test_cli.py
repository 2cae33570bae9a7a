"""`robert-bench` as a real process: scenario files and hand-poked simulated tokens."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hil_tests.kiosk import env, exe

SCENARIOS = Path(__file__).parent / "scenarios"
BENCH = exe("robert-bench", "hil_tests.sim.cli")
pytestmark = pytest.mark.sim_only


def test_run_fails_when_an_expectation_does_not_hold(tmp_path):
    sc = json.loads((SCENARIOS / "near_and_far.json").read_text())
    sc["tokens"].remove("C")  # two tokens are enough here
    sc["moves"] = [m for m in sc["moves"] if m["who"] != "C"]
    sc["steps"][0]["who"] = ["A", "B"]
    sc["steps"] = sc["steps"][:2] + [{"t": "2h", "do": "status", "who": "B",
                                      "expect": "not_at_risk"},
                                     {"t": "2h", "do": "status", "who": "B"}]  # too soon
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(sc))
    out = subprocess.run([*BENCH, "run", str(path)], capture_output=True, text=True, timeout=240,
                         env=env())
    assert out.returncode == 1, out.stdout + out.stderr
    assert "ok  A reported positive" in out.stdout
    assert "ok  B provisioned" in out.stdout  # the steps that hold are played and said
    assert "FAIL B: At risk" in out.stdout and "(expected not at risk)" in out.stdout
    assert "FAIL B: The server refused the status request" in out.stdout  # said, not a crash
    assert "3/5 steps ok" in out.stdout


def test_a_bad_scenario_file_is_explained(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"tokens": ["A"], "moves": [{"t": "later", "who": "A", "at": [0, 0]}]}')
    out = subprocess.run([*BENCH, "run", str(path)], capture_output=True, text=True, timeout=60,
                         env=env())
    assert out.returncode == 2
    assert "moves[0]: cannot read the time 'later'" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run([*BENCH, "run", str(tmp_path / "missing.json")], capture_output=True,
                         text=True, timeout=60, env=env())
    assert out.returncode == 2 and "cannot read" in out.stderr


def test_sim_prints_ports_the_kiosk_can_use(tmp_path):
    proc = subprocess.Popen([*BENCH, "sim", "--tokens", "2", "--provision", "--folder",
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env())
    try:
        ports = {}
        deadline = time.monotonic() + 120
        while len(ports) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            name, serial, pty = (line.split() + ["", "", ""])[:3]
            if pty.startswith("/dev/"):
                ports[serial] = pty
        assert set(ports) == {"RT-T1", "RT-T2"}
        out = subprocess.run([*exe("robert-kiosk", "gateway.cli"), "info", "--port",
                              ports["RT-T2"], "--json"], capture_output=True, text=True,
                             timeout=60, env=env())
        assert out.returncode == 0, out.stderr
        info = json.loads(out.stdout)
        assert info["serial"] == "RT-T2" and info["state"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()


def test_run_a_scenario_with_a_phone_reporting():
    out = subprocess.run([*BENCH, "run", str(SCENARIOS / "bus_with_phone.json")],
                         capture_output=True, text=True, timeout=240, env=env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok  Max's app reported positive" in out.stdout
    assert "ok  Ana: At risk" in out.stdout and "3/3 steps ok" in out.stdout


if sys.platform != "linux":  # ptys as USB ports
    pytestmark = [pytestmark, pytest.mark.skip(reason="needs Linux ptys")]
