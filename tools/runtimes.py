#!/usr/bin/env python3
"""Build the real runtimes the tests and benches run the firmware on.

Nothing here is vendored: the sources come from ``MICROPYTHON_SRC`` (default
``../shared/third_party/micropython``, or any upstream checkout) and
``CIRCUITPYTHON_SRC`` (default ``../shared/third_party/circuitpython-mpy-cross``,
or an upstream CircuitPython checkout). They are copied into
``build/runtimes/src/`` (the shared folder is read-only in CI) and built there
with the recipes of ``../shared/third_party/README.md``. Each product is cached
under ``build/runtimes/`` with a stamp of its source and options, so a second
``make`` does nothing.

Products (``python tools/runtimes.py NAME...``; ``all`` builds every one):

| name | file | what |
|---|---|---|
| ``unix-nimble`` | ``build/runtimes/micropython-nimble`` | unix port, real ``bluetooth`` on NimBLE (HCI over ``MICROPYBTUART``) |
| ``unix-nimble-32`` | ``build/runtimes/micropython-nimble-32`` | the same, 32-bit (the boards' object sizes and small ints) |
| ``qemu`` | ``build/runtimes/qemu-mps2-an385.elf`` | QEMU port, Cortex-M3 board MPS2-AN385, default heap |
| ``cp-mpy-cross`` | ``build/runtimes/circuitpython-mpy-cross`` | CircuitPython's own mpy-cross (``C`` .mpy files) |

``qemu`` takes ``--heap BYTES`` for another heap size
(``build/runtimes/qemu-mps2-an385-heapBYTES.elf``).

Debian packages a product needs are installed with apt-get when missing
(root, as on these machines). Other code finds a product with ``path(name)``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "runtimes"
SRC = OUT / "src"
DEFAULT_MP = ROOT.parent / "shared" / "third_party" / "micropython"
DEFAULT_CP = ROOT.parent / "shared" / "third_party" / "circuitpython-mpy-cross"

APT = {
    "unix-nimble": ["gcc", "make"],
    "unix-nimble-32": ["gcc-multilib"],
    "qemu": ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm"],
    "cp-mpy-cross": ["git"],
}
# Command each Debian package provides, to tell whether it is already there.
APT_PROBE = {
    "gcc": "gcc",
    "make": "make",
    "git": "git",
    "gcc-arm-none-eabi": "arm-none-eabi-gcc",
    "qemu-system-arm": "qemu-system-arm",
    "libnewlib-arm-none-eabi": "/usr/lib/arm-none-eabi/newlib",
    "gcc-multilib": "/usr/lib/gcc/x86_64-linux-gnu/12/32/crtbegin.o",
}

UNIX_FLAGS = [
    "VARIANT=standard",
    "FROZEN_MANIFEST=",
    "MICROPY_PY_BTREE=0",
    "MICROPY_PY_FFI=0",
    "MICROPY_PY_SSL=0",
    "MICROPY_PY_BLUETOOTH=1",
    "MICROPY_BLUETOOTH_NIMBLE=1",
]


class BuildError(Exception):
    """A runtime could not be built; the message says which step failed."""


def mp_src() -> Path:
    return Path(os.environ.get("MICROPYTHON_SRC", DEFAULT_MP)).resolve()


def cp_src() -> Path:
    return Path(os.environ.get("CIRCUITPYTHON_SRC", DEFAULT_CP)).resolve()


def path(name: str, heap: int | None = None) -> Path:
    """Where product ``name`` lives once built (it may not exist yet)."""
    if name == "unix-nimble":
        return OUT / "micropython-nimble"
    if name == "unix-nimble-32":
        return OUT / "micropython-nimble-32"
    if name == "qemu":
        return OUT / ("qemu-mps2-an385.elf" if heap is None else f"qemu-mps2-an385-heap{heap}.elf")
    if name == "cp-mpy-cross":
        return OUT / "circuitpython-mpy-cross"
    raise KeyError(name)


def _have(probe: str) -> bool:
    return Path(probe).exists() if probe.startswith("/") else shutil.which(probe) is not None


def ensure_apt(name: str) -> None:
    missing = [p for p in APT.get(name, []) if not _have(APT_PROBE.get(p, p))]
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)
    except (OSError, subprocess.CalledProcessError) as e:
        raise BuildError(f"cannot install Debian packages {missing} for {name}: {e}") from e


def _tree_id(src: Path) -> str:
    """A cheap identity of a source tree: its git commit if any, else its path and mtime."""
    head = src / ".git"
    if head.exists():
        r = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.strip()
    return f"{src}:{(src / 'README.md').stat().st_mtime_ns if (src / 'README.md').exists() else 0}"


def _copy_tree(src: Path, dst: Path) -> None:
    """A writable copy of ``src`` at ``dst``, refreshed when the source changed."""
    stamp = dst / ".robert-src"
    ident = _tree_id(src)
    if stamp.exists() and stamp.read_text() == ident:
        return
    if not src.is_dir():
        raise BuildError(f"source tree {src} not found (set MICROPYTHON_SRC / CIRCUITPYTHON_SRC)")
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    for p in dst.rglob("*"):  # the shared tree is read-only; the copy must be writable
        try:
            p.chmod(p.stat().st_mode | 0o200)
        except OSError:
            pass
    dst.chmod(dst.stat().st_mode | 0o200)
    stamp.write_text(ident)


def _stamp_ok(product: Path, key: str) -> bool:
    s = product.with_name(product.name + ".stamp")
    return product.exists() and s.exists() and s.read_text() == key


def _write_stamp(product: Path, key: str) -> None:
    product.with_name(product.name + ".stamp").write_text(key)


def _key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _make(args: list[str], log: Path) -> None:
    cmd = ["make", "-j2", *args]
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise BuildError(f"{' '.join(cmd)} failed (log {log}):\n" + "\n".join(tail))


def build_unix(bits: int = 64) -> Path:
    name = "unix-nimble" if bits == 64 else "unix-nimble-32"
    product = path(name)
    key = _key(name, _tree_id(mp_src()), UNIX_FLAGS)
    if _stamp_ok(product, key):
        return product
    ensure_apt(name)
    if bits == 32:
        ensure_apt("unix-nimble")
    tree = SRC / "micropython"
    _copy_tree(mp_src(), tree)
    build = "build-nimble" if bits == 64 else "build-nimble-32"
    extra = [f"BUILD={build}"]
    if bits == 32:
        extra += ["CFLAGS_EXTRA=-m32", "LDFLAGS_EXTRA=-m32"]
    OUT.mkdir(parents=True, exist_ok=True)
    _make(["-C", str(tree / "mpy-cross")], OUT / "mpy-cross.log")
    _make(["-C", str(tree / "ports" / "unix"), *UNIX_FLAGS, *extra], OUT / f"{name}.log")
    shutil.copy2(tree / "ports" / "unix" / build / "micropython", product)
    _write_stamp(product, key)
    return product


def build_qemu(heap: int | None = None) -> Path:
    product = path("qemu", heap)
    key = _key("qemu", _tree_id(mp_src()), heap)
    if _stamp_ok(product, key):
        return product
    ensure_apt("qemu")
    tree = SRC / "micropython"
    _copy_tree(mp_src(), tree)
    OUT.mkdir(parents=True, exist_ok=True)
    build = "build-MPS2_AN385" if heap is None else f"build-MPS2_AN385-heap{heap}"
    args = ["-C", str(tree / "ports" / "qemu"), "BOARD=MPS2_AN385", "FROZEN_MANIFEST=", f"BUILD={build}"]
    if heap is not None:
        args.append(f"MICROPY_HEAP_SIZE={heap}")
    _make(args, OUT / f"qemu-{heap or 'default'}.log")
    shutil.copy2(tree / "ports" / "qemu" / build / "firmware.elf", product)
    _write_stamp(product, key)
    return product


def build_cp_mpy_cross(python: str = sys.executable) -> Path:
    product = path("cp-mpy-cross")
    key = _key("cp-mpy-cross", _tree_id(cp_src()))
    if _stamp_ok(product, key):
        return product
    ensure_apt("cp-mpy-cross")
    tree = SRC / "circuitpython"
    _copy_tree(cp_src(), tree)
    # CircuitPython's version script needs a git repository with a version tag.
    if subprocess.run(["git", "-C", str(tree), "describe", "--tags"], capture_output=True).returncode:
        git = ["git", "-C", str(tree), "-c", "user.name=build", "-c", "user.email=build@localhost"]
        subprocess.run(["git", "init", "-q", str(tree)], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "snapshot"], check=True)
        subprocess.run([*git, "tag", "10.3.0"], check=True)
    OUT.mkdir(parents=True, exist_ok=True)
    _make(["-C", str(tree / "mpy-cross"), f"PYTHON={python}"], OUT / "cp-mpy-cross.log")
    shutil.copy2(tree / "mpy-cross" / "build" / "mpy-cross", product)
    _write_stamp(product, key)
    return product


BUILDERS = {
    "unix-nimble": lambda a: build_unix(64),
    "unix-nimble-32": lambda a: build_unix(32),
    "qemu": lambda a: build_qemu(a.heap),
    "cp-mpy-cross": lambda a: build_cp_mpy_cross(),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", help="products to build: " + ", ".join(BUILDERS) + ", or all")
    ap.add_argument("--heap", type=int, default=None, help="heap bytes of the qemu firmware")
    a = ap.parse_args(argv)
    names = list(BUILDERS) if a.names == ["all"] else a.names
    for n in names:
        if n not in BUILDERS:
            ap.error(f"unknown runtime {n!r}; known: {', '.join(BUILDERS)}")
    try:
        for n in names:
            print(f"runtime {n}: {BUILDERS[n](a)}", flush=True)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
