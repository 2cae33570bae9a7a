"""Run every benchmark module (or those named on the command line) and print the tables."""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = argv or sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    print(f"# make bench: {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores, {platform.machine()}")
    failed = 0
    for name in names:
        start = time.perf_counter()
        try:
            tables = importlib.import_module(f"bench.{name}").run()
        except Exception as exc:  # a broken benchmark must not hide the others
            print(f"\n## {name}: FAILED: {type(exc).__name__}: {exc}")
            failed += 1
            continue
        for table in tables:
            print()
            print(table.render())
        print(f"({name}: {time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
