#!/usr/bin/env python3
"""Type-check each board's firmware against its platform's published stubs (part of `make lint`).

- nrf52: the core and `firmware/ports/nrf52/` against `circuitpython-stubs`
  (CircuitPython's own stubs of `_bleio`, `supervisor`, `usb_cdc`, `storage`...).
- esp32: the core and `firmware/ports/esp32/` against `micropython-esp32-stubs`
  with `micropython-stdlib-stubs` as the standard library (MicroPython's reduced one).

The stubs are installed with pip into `build/stubs/<board>/` (versions pinned
in constraints.txt; a folder each: the two sets define the same module names)
and checked by basedpyright (requirements.txt). Errors listed in
`tools/lint_baseline.json` (each with the reason) are accepted; any other
error fails. A baseline entry that no longer occurs is listed to be removed
(a warning: the ESP32 port's files change under their owner).

Exit status: 0 clean against the baseline, 1 new errors,
2 the stubs or basedpyright could not be installed or run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
STUBS = ROOT / "build" / "stubs"
BASELINE = Path(__file__).resolve().parent / "lint_baseline.json"
CONSTRAINTS = ROOT / "constraints.txt"

# The board the nRF52 files are checked for: its pin names replace the generic `board` stub
# (what circuitpython-stubs' `circuitpython_setboard` does).
NRF52_BOARD = "feather_nrf52840_express"

BOARDS = {
    "nrf52": {"packages": ["circuitpython-stubs"], "typeshed": False},
    "esp32": {"packages": ["micropython-esp32-stubs", "micropython-stdlib-stubs"], "typeshed": True},
}


def pins(packages: list[str]) -> list[str]:
    """`name==version` of each package, from constraints.txt."""
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        name, _, version = line.strip().partition("==")
        if version:
            found[name.lower()] = version
    missing = [p for p in packages if p not in found]
    if missing:
        raise SystemExit(f"lint_ports: {', '.join(missing)} not pinned in constraints.txt")
    return [f"{p}=={found[p]}" for p in packages]


def install(board: str) -> Path:
    """The stubs of `board` in build/stubs/<board> (pip --target), reinstalled when the pins change."""
    target = STUBS / board
    wanted = pins(BOARDS[board]["packages"])
    stamp = target / ".pins"
    if stamp.exists() and stamp.read_text() == "\n".join(wanted):
        return target
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
           "--upgrade", "--target", str(target), *wanted]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        print(f"lint_ports: could not install the {board} stubs ({' '.join(wanted)}): {r.stderr.strip()[-400:]}",
              file=sys.stderr)
        raise SystemExit(2)
    if board == "nrf52":
        shutil.copyfile(target / "board_definitions" / NRF52_BOARD / "__init__.pyi", target / "board-stubs" / "__init__.pyi")
    stamp.write_text("\n".join(wanted))
    return target


def files(board: str) -> list[Path]:
    return sorted((FIRMWARE / "robert_token").glob("*.py")) + sorted((FIRMWARE / "ports" / board).glob("*.py"))


def check(board: str, extra: list[Path] | None = None) -> list[dict]:
    """basedpyright's errors for one board: [{board, file, rule, message, line}]."""
    stubs = install(board)
    conf_dir = ROOT / "build" / "lint" / board
    conf_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "include": [str(p) for p in files(board) + (extra or [])],
        "extraPaths": [str(stubs), str(FIRMWARE), str(FIRMWARE / "ports" / board)],
        "pythonVersion": "3.8",
        "typeCheckingMode": "standard",
        "reportMissingModuleSource": "none",
        "enableTypeIgnoreComments": False,
    }
    if BOARDS[board]["typeshed"]:
        config["typeshedPath"] = str(stubs)  # micropython-stdlib-stubs' stdlib/ replaces CPython's
    (conf_dir / "pyrightconfig.json").write_text(json.dumps(config, indent=1))
    exe = Path(sys.executable).parent / "basedpyright"
    if not exe.exists():
        print("lint_ports: basedpyright is not installed (make install)", file=sys.stderr)
        raise SystemExit(2)
    r = subprocess.run([str(exe), "--project", str(conf_dir / "pyrightconfig.json"), "--outputjson"],
                       capture_output=True, text=True, cwd=conf_dir, env=dict(os.environ, NODE_OPTIONS=""))
    try:
        out = json.loads(r.stdout)
    except ValueError:
        print(f"lint_ports: basedpyright failed for {board}: {(r.stderr or r.stdout).strip()[-600:]}", file=sys.stderr)
        raise SystemExit(2) from None
    errors = []
    for d in out.get("generalDiagnostics", []):
        if d.get("severity") != "error":
            continue
        path = Path(d["file"])
        errors.append({"board": board, "file": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                       "rule": d.get("rule", ""),
                       "message": d["message"].splitlines()[0], "line": d["range"]["start"]["line"] + 1})
    return errors


def key(e: dict) -> tuple[str, str, str, str]:
    return (e["board"], e["file"], e["rule"], e["message"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", action="append", choices=sorted(BOARDS), help="board (default: both)")
    ap.add_argument("--file", action="append", type=Path, default=[], help="check this file too (with --board)")
    ap.add_argument("--show-baseline", action="store_true", help="also print the accepted errors")
    args = ap.parse_args(argv)
    boards = args.board or sorted(BOARDS)
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else []
    accepted = {key(b): b for b in baseline if b["board"] in boards}
    extra = [p.resolve() for p in args.file]
    found = [e for b in boards for e in check(b, extra)]
    new = [e for e in found if key(e) not in accepted]
    seen = {key(e) for e in found}
    stale = [b for k, b in accepted.items() if k not in seen]
    for e in new:
        print(f"{e['file']}:{e['line']}: [{e['board']}] {e['rule']}: {e['message']}")
    for b in stale:
        print(f"warning: stale baseline entry (no longer reported, remove it): [{b['board']}] {b['file']}: {b['message']}")
    if args.show_baseline:
        for e in found:
            if key(e) in accepted:
                print(f"accepted {e['file']}:{e['line']}: {e['message']} ({accepted[key(e)]['why']})")
    print(f"lint_ports: {', '.join(boards)}: {len(found)} errors, {len(found) - len(new)} in the baseline, "
          f"{len(new)} new, {len(stale)} stale baseline entries")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
