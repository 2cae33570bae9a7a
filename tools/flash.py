#!/usr/bin/env python3
"""Put the token firmware on a device: ESP32 over its serial port, nRF52840 on its CIRCUITPY drive.

    tools/flash.py esp32 --port /dev/ttyUSB0     (MicroPython, files copied with mpremote)
    tools/flash.py nrf52 --drive /media/CIRCUITPY (CircuitPython, files copied to the drive)

The core (firmware/robert_token/) goes to robert_token/ on the device, the
port's files to its root. Exit status: 0 done, 1 a copy failed, 2 bad
arguments, 3 mpremote missing (the exact commands are printed instead).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
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


def flash_nrf52(drive: Path, force: bool) -> int:
    if not drive.is_dir():
        print(f"flash: {drive} is not a mounted drive; plug the token in and give its CIRCUITPY folder",
              file=sys.stderr)
        return 2
    if not (drive / "boot_out.txt").exists() and not force:
        print(f"flash: {drive} has no boot_out.txt, it does not look like a CircuitPython drive "
              "(use --force to copy anyway)", file=sys.stderr)
        return 2
    plan = [(p, drive / "robert_token" / p.name) for p in core_files()]
    plan += [(p, drive / p.name) for p in port_files("nrf52")]
    (drive / "robert_token").mkdir(exist_ok=True)
    for n, (src, dst) in enumerate(plan, 1):
        try:
            shutil.copyfile(src, dst)
        except OSError as exc:
            print(f"flash: copying {src.name} failed: {exc.strerror}; retry (the drive may be full "
                  "or read-only)", file=sys.stderr)
            return 1
        print(f"[{n}/{len(plan)}] {dst.relative_to(drive)}", flush=True)
    print("done: eject the drive, the token restarts with the new firmware")
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
    args = ap.parse_args(argv)
    if args.target == "esp32":
        return flash_esp32(args.port, args.dry_run)
    return flash_nrf52(args.drive, args.force)


if __name__ == "__main__":
    sys.exit(main())
