"""The real runtimes `make` builds from MICROPYTHON_SRC (tools/runtimes.py) are there and are what they claim."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import runtimes  # noqa: E402


def _built(name: str) -> Path:
    p = runtimes.path(name)
    if not p.exists():
        pytest.fail(f"{p} missing: `make runtimes` (part of `make test`) builds it")
    return p


def test_unix_port_has_the_real_bluetooth_module_on_nimble():
    r = subprocess.run([_built("unix-nimble"), "-c", "import bluetooth; b = bluetooth.BLE(); print(type(b).__name__)"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "BLE", r.stderr


def test_32_bit_unix_port_has_the_boards_small_int_range():
    r = subprocess.run([_built("unix-nimble-32"), "-c", "import sys; print(sys.maxsize)"],
                       capture_output=True, text=True, timeout=30)
    assert int(r.stdout) == 2**31 - 1


def test_circuitpython_mpy_cross_writes_circuitpython_mpy(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f(x):\n    return x + 1\n")
    out = tmp_path / "m.mpy"
    subprocess.run([_built("cp-mpy-cross"), str(src), "-o", str(out)], check=True, timeout=30)
    assert out.read_bytes()[:2] == b"C\x06"  # MicroPython's own mpy-cross writes b"M\x06"


def test_unknown_runtime_is_refused_in_plain_words(capsys):
    with pytest.raises(SystemExit) as e:
        runtimes.main(["esp32-idf"])
    assert e.value.code == 2
    assert "unknown runtime 'esp32-idf'" in capsys.readouterr().err
