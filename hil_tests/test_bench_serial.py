"""`--bench serial:...` for real: the suite run against USB-like tokens on ptys.

Host-port tokens without the air are the nearest thing to hardware here: a
process behind a pty, on the system clock. The portable tests must pass and
the others must be skipped, each with its reason.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from hil_tests.kiosk import env, exe

HERE = Path(__file__).parent


def _token(folder: Path, serial: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*exe("robert-token", "ports.host.main"), "--state", str(folder),
                             "--serial", serial], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env(),
                            text=True)
    pty = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "robert-token exited"
        if line.startswith("PTY "):
            pty = line.split()[1]
        if line.strip() == "READY":
            return proc, pty
    raise AssertionError("robert-token not ready")


@pytest.mark.sim_only  # it makes its own "hardware"
def test_the_suite_runs_on_serial_ports_and_skips_what_it_cannot_do(tmp_path):
    procs = [_token(tmp_path / f"t{i}", f"RT-HW{i}") for i in range(2)]
    try:
        spec = "serial:" + ",".join(pty for _, pty in procs)
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "-p",
             "no:xdist", "--bench", spec, str(HERE / "test_sync_basics.py"),
             str(HERE / "test_ebid_rotation.py"), str(HERE / "test_power_cuts.py"),
             str(HERE / "test_contact_risk.py")],
            capture_output=True, text=True, timeout=300, env=env(), cwd=HERE.parent)
    finally:
        for proc, _ in procs:
            proc.kill()
            proc.wait(10)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "1 passed" in text and "4 skipped" in text, text
    assert "hardware bench: needs a radio sniffer" in text
    assert "hardware bench: only meaningful on the simulated bench" in text


def test_a_bad_bench_spec_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "--bench", "usb:/dev/x", str(HERE / "test_sync_basics.py")],
                         capture_output=True, text=True, timeout=120, env=env(), cwd=HERE.parent)
    assert out.returncode == 4  # pytest's usage error
    assert "--bench must be 'sim' or 'serial:PORT[,PORT...]'" in out.stdout + out.stderr
