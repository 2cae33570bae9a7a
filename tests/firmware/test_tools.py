"""tools/mpy_compile.py (each board's own mpy-cross) and tools/flash.py."""

import errno
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
    assert "esp32 1 files" in r.stdout and "nrf52 1 files" in r.stdout and "0 failures" in r.stdout


def test_invalid_file_is_listed(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "bad.py").write_text("def f(x):\n    match x:\n        case 1:\n            return 2\n")
    r = _compile(tmp_path / "pkg")
    assert r.returncode == 1
    assert "FAIL pkg/bad.py [nrf52]" in r.stderr and "FAIL pkg/bad.py [esp32]" in r.stderr
    assert "ok.py" not in r.stderr


FLASH = TOOL.parent / "flash.py"


def test_mpy_compile_uses_circuitpythons_mpy_cross_for_nrf52(tmp_path):
    """Issue 13 defect 12: nRF52 files were compiled by MicroPython's mpy-cross (b"M"), which CircuitPython refuses."""
    r = subprocess.run([sys.executable, str(TOOL), "--keep", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    nrf = sorted((tmp_path / "nrf52").rglob("*.mpy"))
    esp = sorted((tmp_path / "esp32").rglob("*.mpy"))
    assert any(p.name == "app.mpy" for p in nrf) and any(p.parent.name == "robert_token" for p in nrf)
    assert all(p.read_bytes()[:2] == b"C\x06" for p in nrf)
    assert esp and all(p.read_bytes()[:2] == b"M\x06" for p in esp)


def test_mpy_compile_refuses_output_of_the_wrong_compiler(tmp_path):
    sys.path.insert(0, str(TOOL.parent))
    import mpy_compile

    src = tmp_path / "x.py"
    src.write_text("x = 1\n")
    wrong = mpy_compile.Target("esp32", "armv7emsp", b"C\x06", "esp32")
    _, _, err = mpy_compile.compile_one(wrong, src, Path("x.py"), tmp_path)
    assert err is not None and "wrong mpy-cross" in err


def _drive(tmp_path: Path) -> Path:
    drive = tmp_path / "CIRCUITPY"
    drive.mkdir()
    (drive / "boot_out.txt").write_text("Adafruit CircuitPython 10.0.0 on 2025-08-01; Adafruit Feather nRF52840\n")
    return drive


def _flash(drive: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(FLASH), "nrf52", "--drive", str(drive), *extra],
                          capture_output=True, text=True)


def test_flash_nrf52_refuses_a_folder_without_boot_out(tmp_path):
    drive = tmp_path / "CIRCUITPY"
    drive.mkdir()
    r = _flash(drive)
    assert r.returncode == 2 and "boot_out.txt" in r.stderr  # not a CircuitPython drive: refused


def test_flash_nrf52_copies_circuitpython_mpy_and_code_last(tmp_path):
    drive = _drive(tmp_path)
    (drive / "robert_token").mkdir()
    (drive / "robert_token" / "frame.py").write_text("stale = True\n")  # an older source flash
    r = _flash(drive)
    assert r.returncode == 0, r.stderr
    root = TOOL.parents[1] / "firmware"
    for src in (root / "robert_token").glob("*.py"):
        assert (drive / "robert_token" / (src.stem + ".mpy")).read_bytes()[:2] == b"C\x06"
        assert not (drive / "robert_token" / src.name).exists()  # would be imported before the .mpy
    for name in ("app", "port", "gatt", "exchange"):
        assert (drive / (name + ".mpy")).read_bytes()[:2] == b"C\x06"
    for name in ("code.py", "boot.py", "startup.py"):
        assert (drive / name).read_bytes() == (root / "ports" / "nrf52" / name).read_bytes()
    steps = [line.split("] ", 1)[1] for line in r.stdout.splitlines() if line.startswith("[")]
    assert steps[-1] == "code.py"  # its auto-reload comes once everything is in place
    assert "hard reset" in r.stdout and "hold the button" in r.stdout


def test_flash_nrf52_source_copies_the_py_files(tmp_path):
    drive = _drive(tmp_path)
    r = _flash(drive, "--source")
    assert r.returncode == 0, r.stderr
    assert (drive / "app.py").exists() and (drive / "robert_token" / "token.py").exists()


def test_flash_nrf52_reports_a_failed_mkdir(tmp_path):
    """Issue 13 defect 13: a failed mkdir of robert_token/ went on copying."""
    drive = _drive(tmp_path)
    (drive / "robert_token").write_text("a file where the folder goes\n")
    r = _flash(drive)
    assert r.returncode == 1
    assert "could not create robert_token/" in r.stderr and "Traceback" not in r.stderr
    assert not (drive / "code.py").exists()


def test_flash_nrf52_explains_a_read_only_drive(tmp_path, monkeypatch, capsys):
    """The token owns its flash: the computer's writes fail with EROFS, and flash.py says what to do."""
    sys.path.insert(0, str(TOOL.parent))
    import flash

    drive = _drive(tmp_path)

    def erofs(self, *a, **kw):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", erofs)
    assert flash._copy_nrf52(drive, flash.nrf52_plan(None)) == 1
    assert "Hold the board's button while pressing reset" in capsys.readouterr().err


def test_flash_esp32_dry_run_prints_mpremote_commands():
    r = subprocess.run([sys.executable, str(FLASH), "esp32", "--port", "/dev/ttyUSB9", "--dry-run"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "mpremote connect /dev/ttyUSB9 fs mkdir :robert_token"
    assert "robert_token/frame.py" in lines[1] and lines[1].endswith(":robert_token/")
    assert "ports/esp32/main.py" in lines[2]


LINT = TOOL.parent / "lint_ports.py"


def test_lint_ports_catches_a_call_circuitpython_does_not_have(tmp_path):
    """make lint: the nRF52 files checked against circuitpython-stubs (here a misspelt supervisor call)."""
    bad = tmp_path / "bad_port.py"
    bad.write_text("import supervisor\nimport _bleio\n\nt = supervisor.ticks_msec()\n"
                   "_bleio.adapter.start_scan(windows=0.1)\n")
    r = subprocess.run([sys.executable, str(LINT), "--board", "nrf52", "--file", str(bad)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "bad_port.py:4" in r.stdout and "ticks_msec" in r.stdout
    assert "bad_port.py:5" in r.stdout
    assert "0 stale" in r.stdout  # the baseline matches the firmware as it is


def test_flashed_drive_boots_on_the_circuitpython_doubles(tmp_path):
    """The drive as flash.py leaves it (sources), run by the board model: auto-reload, hard reset, token up."""
    drive = _drive(tmp_path)
    r = _flash(drive, "--source")
    assert r.returncode == 0, r.stderr
    mpy = TOOL.parents[1] / "tests" / "firmware" / "mpy"
    script = f"""
import sys
sys.path[:0] = [{str(mpy / 'fakehw')!r}, {str(mpy)!r}, {str(drive)!r}]
import circuitpy, microcontroller, supervisor, usb_cdc
circuitpy.hard_reset(boot_py=None)        # the board before the flash: no boot.py of ours
circuitpy.auto_reload()                   # the copy: code.py runs again, boot.py does not
import startup
startup._version = lambda: (10, 3, 0)
try:
    startup.check()
    raise SystemExit("no hard reset")
except microcontroller.HardReset:
    pass
circuitpy.hard_reset(boot_py={str(drive / 'boot.py')!r})
assert startup.check(), startup.report
import app, port
a = app.App(port=port.Nrf52Port(root="rt"))  # the board's /rt, under the test's folder
a.step()
print("token up, usb", usb_cdc.data is not None, "state", a.token.info()["state"])
"""
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "token up, usb True state not_provisioned" in r.stdout
    assert (tmp_path / "rt").is_dir()
