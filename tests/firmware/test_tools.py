"""tools/mpy_compile.py catches what MicroPython cannot compile."""

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "mpy_compile.py"


def _compile(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), str(folder)], capture_output=True, text=True)


def test_valid_folder_compiles(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("import struct\nX = struct.pack('>I', 1)\n")
    r = _compile(tmp_path / "pkg")
    assert r.returncode == 0, r.stderr
    assert "1 files x 2 architectures, 0 failures" in r.stdout


def test_invalid_file_is_listed(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "bad.py").write_text("def f(x):\n    match x:\n        case 1:\n            return 2\n")
    r = _compile(tmp_path / "pkg")
    assert r.returncode == 1
    assert "FAIL pkg/bad.py [armv7emsp]" in r.stderr and "FAIL pkg/bad.py [xtensawin]" in r.stderr
    assert "ok.py" not in r.stderr


FLASH = TOOL.parent / "flash.py"


def test_flash_nrf52_copies_core_and_port(tmp_path):
    drive = tmp_path / "CIRCUITPY"
    drive.mkdir()
    r = subprocess.run([sys.executable, str(FLASH), "nrf52", "--drive", str(drive)], capture_output=True, text=True)
    assert r.returncode == 2 and "boot_out.txt" in r.stderr  # not a CircuitPython drive: refused
    (drive / "boot_out.txt").write_text("Adafruit CircuitPython 9.2.1\n")
    r = subprocess.run([sys.executable, str(FLASH), "nrf52", "--drive", str(drive)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    root = TOOL.parents[1] / "firmware"
    for src in (root / "robert_token").glob("*.py"):
        assert (drive / "robert_token" / src.name).read_bytes() == src.read_bytes()
    for name in ("code.py", "boot.py", "port.py"):
        assert (drive / name).read_bytes() == (root / "ports" / "nrf52" / name).read_bytes()


def test_flash_esp32_dry_run_prints_mpremote_commands():
    r = subprocess.run([sys.executable, str(FLASH), "esp32", "--port", "/dev/ttyUSB9", "--dry-run"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "mpremote connect /dev/ttyUSB9 fs mkdir :robert_token"
    assert "robert_token/frame.py" in lines[1] and lines[1].endswith(":robert_token/")
    assert "ports/esp32/main.py" in lines[2]
