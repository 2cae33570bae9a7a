"""Shared helpers of the firmware tests: paths and the two interpreters."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
MPY_TESTS = Path(__file__).resolve().parent / "mpy"
MICROPYTHON = ROOT / "tools" / "micropython"
VM_MJS = ROOT / "tools" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript" / "micropython.mjs"

collect_ignore_glob = ["mpy/*"]  # scripts for both interpreters, run by test_core_scripts.py
sys.path.insert(0, str(MPY_TESTS))


def run_script(interpreter: str, script: Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run one MicroPython-compatible test script under CPython or the MicroPython VM."""
    if interpreter == "cpython":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FIRMWARE), str(script.parent)]))
        cmd = [sys.executable, str(script)]
    else:
        env = dict(os.environ)
        cmd = [str(MICROPYTHON), str(script)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def run_mpy_script():
    return run_script


@pytest.fixture
def vm_installed():
    if not VM_MJS.exists():
        pytest.fail("the MicroPython VM is not installed: run `make vm`")
