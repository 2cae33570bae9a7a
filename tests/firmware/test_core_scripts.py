"""Runs every tests/firmware/mpy/test_*.py under CPython and under the real MicroPython VM."""

from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parent / "mpy").glob("test_*.py"))


@pytest.mark.parametrize("interpreter", ["cpython", "micropython"])
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_script(script, interpreter, tmp_path, run_mpy_script, vm_installed):
    result = run_mpy_script(interpreter, script, tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert " passed, 0 failed" in result.stdout, out


def test_runner_reports_failures(tmp_path, run_mpy_script, vm_installed):
    """The VM runner must fail on an uncaught exception and pass SystemExit codes through."""
    bad = tmp_path / "bad.py"
    bad.write_text("import robert_token.frame\nraise ValueError('boom')\n")
    r = run_mpy_script("micropython", bad, tmp_path)
    assert r.returncode == 1
    assert "ValueError: boom" in r.stderr
    code = tmp_path / "code.py"
    code.write_text("import sys\nprint('hi')\nsys.exit(3)\n")
    r = run_mpy_script("micropython", code, tmp_path)
    assert (r.returncode, r.stdout) == (3, "hi\n")
