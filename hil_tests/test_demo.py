"""The demo as `make demo` runs it (slow: a virtual day and a half, about 30 s)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hil_tests.kiosk import env


@pytest.mark.slow
@pytest.mark.sim_only
def test_demo_tells_who_is_at_risk_and_why(tmp_path):
    out = subprocess.run([sys.executable, "-m", "hil_tests.sim.demo", "--folder", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, env=env())
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    verdicts = {ln.split()[0]: ln for ln in lines[lines.index("== Who is at risk, and why =="):]
                if ln.startswith("  ")}
    assert "AT RISK" in verdicts["Bob"] and "1 m" in verdicts["Bob"]
    assert "not at risk" in verdicts["Chloe"] and "15 m" in verdicts["Chloe"]
    assert "AT RISK" in verdicts["Dan"]
    assert "report accepted" in out.stdout
