"""`--bench serial:...` for real: the suite run against USB-like tokens on ptys.

Host-port tokens without the air are the nearest thing to hardware here: a
process behind a pty, on the system clock. The portable tests must pass and
the others must be skipped, each with its reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ports.host.launcher import TokenProcess

from hil_tests.kiosk import env

HERE = Path(__file__).parent




@pytest.mark.sim_only  # it makes its own "hardware"
def test_the_suite_runs_on_serial_ports_and_skips_what_it_cannot_do(tmp_path):
    tokens = [TokenProcess(tmp_path / f"t{i}", serial=f"RT-HW{i}").start() for i in range(2)]
    try:
        spec = "serial:" + ",".join(t.pty for t in tokens)
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "-p",
             "no:xdist", "--bench", spec, str(HERE / "test_sync_basics.py"),
             str(HERE / "test_ebid_rotation.py"), str(HERE / "test_power_cuts.py"),
             str(HERE / "test_contact_risk.py")],
            capture_output=True, text=True, timeout=300, env=env(), cwd=HERE.parent)
    finally:
        for token in tokens:
            token.kill()
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    # test_sync_basics runs; the rotation, power-cut and three contact-risk tests skip.
    assert "1 passed" in text and "5 skipped" in text, text
    assert "hardware bench: needs a radio sniffer" in text
    assert "hardware bench: only meaningful on the simulated bench" in text


def test_a_bad_bench_spec_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "--bench", "usb:/dev/x", str(HERE / "test_sync_basics.py")],
                         capture_output=True, text=True, timeout=120, env=env(), cwd=HERE.parent)
    assert out.returncode == 4  # pytest's usage error
    assert "--bench must be 'sim' or 'serial:PORT[,PORT...]'" in out.stdout + out.stderr
