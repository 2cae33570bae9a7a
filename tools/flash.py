#!/usr/bin/env python3
"""Put the token firmware on a device: ESP32 over its serial port, nRF52840 on its CIRCUITPY drive.

    tools/flash.py esp32 --port /dev/ttyUSB0     (MicroPython, files copied with mpremote)
    tools/flash.py nrf52 --drive /media/CIRCUITPY (CircuitPython, .mpy compiled by CircuitPython's
                                                    mpy-cross, copied to the drive; --source: the .py)

The core (firmware/robert_token/) goes to robert_token/ on the device, the
port's files to its root. Exit status: 0 done, 1 a copy failed, 2 bad
arguments, 3 mpremote missing (the exact commands are printed instead).
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "firmware" / "robert_token"
PORTS = {"esp32": ROOT / "firmware" / "ports" / "esp32", "nrf52": ROOT / "firmware" / "ports" / "nrf52"}


def core_files() -> list[Path]:
    return sorted(CORE.glob("*.py"))


def port_files(target: str) -> list[Path]:
    return sorted(PORTS[target].glob("*.py"))


def mpremote_commands(port: str) -> list[list[str]]:
    """The mpremote calls that install the ESP32 token (one per step)."""
    base = ["mpremote", "connect", port]
    cmds = [base + ["fs", "mkdir", ":robert_token"]]
    cmds.append(base + ["fs", "cp", *[str(p) for p in core_files()], ":robert_token/"])
    cmds.append(base + ["fs", "cp", *[str(p) for p in port_files("esp32")], ":"])
    cmds.append(base + ["reset"])
    return cmds


def flash_esp32(port: str, dry_run: bool) -> int:
    cmds = mpremote_commands(port)
    if dry_run or shutil.which("mpremote") is None:
        if not dry_run:
            print("mpremote is not installed (pip install mpremote); run these commands:", file=sys.stderr)
        for c in cmds:
            print(" ".join(c))
        return 0 if dry_run else 3
    for n, c in enumerate(cmds, 1):
        print(f"[{n}/{len(cmds)}] {' '.join(c[3:5])}", flush=True)
        r = subprocess.run(c)
        if r.returncode and not (c[3:5] == ["fs", "mkdir"]):  # the folder may already exist
            print(f"flash: step {n} failed (exit {r.returncode}); the device keeps its old files "
                  "for the steps not done. Check the port and retry.", file=sys.stderr)
            return 1
    return 0


# CircuitPython finds code.py and boot.py only as .py; startup.py checks the runtime before any .mpy loads.
NRF52_AS_SOURCE = ("startup.py", "boot.py", "code.py")  # copied last, code.py at the very end


def nrf52_plan(build: Path | None) -> list[tuple[Path, str]]:
    """(file to copy, path on the drive), in copy order: .mpy (from `build`) or .py, code.py last."""
    plan: list[tuple[Path, str]] = []
    for p in core_files():
        plan.append((build / "robert_token" / (p.stem + ".mpy"), "robert_token/" + p.stem + ".mpy") if build
                    else (p, "robert_token/" + p.name))
    sources = [p for p in port_files("nrf52") if p.name not in NRF52_AS_SOURCE]
    for p in sources:
        plan.append((build / (p.stem + ".mpy"), p.stem + ".mpy") if build else (p, p.name))
    plan += [(PORTS["nrf52"] / name, name) for name in NRF52_AS_SOURCE]
    return plan


def _compile_nrf52(out: Path) -> bool:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import mpy_compile

    target = mpy_compile.TARGETS["nrf52"]
    if not Path(target.compiler()).exists():
        print("flash: CircuitPython's mpy-cross is not built; run `make runtimes` (or use --source)",
              file=sys.stderr)
        return False
    failures = [r for r in mpy_compile.compile_target(target, mpy_compile.firmware_files(target), out) if r[2]]
    for rel, _, err in failures:
        print(f"flash: {rel} does not compile: {err}", file=sys.stderr)
    return not failures


def flash_nrf52(drive: Path, force: bool, source: bool = False) -> int:
    if not drive.is_dir():
        print(f"flash: {drive} is not a mounted drive; plug the token in and give its CIRCUITPY folder",
              file=sys.stderr)
        return 2
    if not (drive / "boot_out.txt").exists() and not force:
        print(f"flash: {drive} has no boot_out.txt, it does not look like a CircuitPython drive "
              "(use --force to copy anyway)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        build = None
        if not source:
            if not _compile_nrf52(Path(tmp)):
                return 1
            build = Path(tmp) / "nrf52"
        return _copy_nrf52(drive, nrf52_plan(build))


def _copy_nrf52(drive: Path, plan: list[tuple[Path, str]]) -> int:
    try:
        (drive / "robert_token").mkdir(exist_ok=True)
    except OSError as exc:
        if exc.errno == errno.EROFS or exc.errno == errno.EACCES:
            print(f"flash: {drive} is read-only: the token owns its flash. Hold the board's button while "
                  "pressing reset (the drive becomes writable), then run this again", file=sys.stderr)
        else:
            print(f"flash: could not create robert_token/ on {drive}: {exc.strerror or exc}; nothing was "
                  "copied", file=sys.stderr)
        return 1
    for n, (src, dst) in enumerate(plan, 1):
        target = drive / dst
        try:
            shutil.copyfile(src, target)
            if target.suffix == ".mpy":
                stale = target.with_suffix(".py")  # a .py left from an older flash is imported first
                if stale.exists():
                    stale.unlink()
        except OSError as exc:
            print(f"flash: copying {dst} failed: {exc.strerror or exc}; retry (the drive may be full or "
                  "read-only: hold the button while pressing reset)", file=sys.stderr)
            return 1
        print(f"[{n}/{len(plan)}] {dst}", flush=True)
    if hasattr(os, "sync"):
        os.sync()
    print("done: CircuitPython reloads code.py, which resets the board once so that boot.py runs "
          "(boot.py, which enables the USB data port and gives the flash to the token, runs only after "
          "a hard reset; if the token does not restart, press its reset button once). The drive is then "
          "read-only to the computer: to flash again, hold the button while pressing reset.")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="target", required=True)
    e = sub.add_parser("esp32", help="copy to an ESP32 running MicroPython (mpremote)")
    e.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    e.add_argument("--dry-run", action="store_true", help="print the mpremote commands only")
    n = sub.add_parser("nrf52", help="copy to an nRF52840 running CircuitPython (its USB drive)")
    n.add_argument("--drive", required=True, type=Path, help="the mounted CIRCUITPY folder")
    n.add_argument("--force", action="store_true", help="copy even without boot_out.txt on the drive")
    n.add_argument("--source", action="store_true", help="copy the .py sources instead of CircuitPython .mpy files")
    args = ap.parse_args(argv)
    if args.target == "esp32":
        return flash_esp32(args.port, args.dry_run)
    return flash_nrf52(args.drive, args.force, args.source)


if __name__ == "__main__":
    sys.exit(main())
