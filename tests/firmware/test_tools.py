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
