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


@pytest.mark.slow
@pytest.mark.sim_only
def test_demo_kiosk_mode_leaves_the_kiosk_page_running(tmp_path):
    import re
    import signal

    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "hil_tests.sim.demo", "--kiosk", "--folder",
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env())
    try:
        url = None
        for line in proc.stdout:
            m = re.search(r"kiosk page is running at (http://\S+/)", line)
            if m:
                url = m.group(1)
                break
        assert url, "the demo never printed the kiosk address"
        tokens = {}
        for _ in range(100):
            try:
                tokens = {t["view"]["serial"]: t["view"] for t in
                          httpx.get(url + "api/tokens", timeout=10).json()["tokens"] if t["view"]}
            except httpx.HTTPError:
                pass
            if len(tokens) == 3:
                break
            import time
            time.sleep(0.2)
        assert tokens["RT-BOB"]["risk_level"] == 4 and tokens["RT-CHLOE"]["risk_level"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0
