"""Pytest wiring of the bench: `--bench`, the `bench` fixture, and skips by marker."""

from __future__ import annotations

import zlib

import pytest

from hil_tests.bench import BenchSpecError, open_bench, parse_spec

WHY = {
    "sim_only": "only meaningful on the simulated bench",
    "needs_radio_sniffer": "needs a radio sniffer (the kiosk's BLE scanner is not wired to the bench)",
    "needs_power_control": "needs a power switch (set ROBERT_BENCH_POWER)",
}


def pytest_addoption(parser):
    parser.addoption("--bench", default="sim", metavar="SPEC",
                     help="HIL bench: 'sim' (default) or 'serial:/dev/ttyACM0,/dev/ttyACM1'")


def _kind(config) -> str:
    try:
        return parse_spec(config.getoption("--bench"))[0]
    except BenchSpecError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_collection_modifyitems(config, items):
    if _kind(config) == "sim":
        return
    import os

    for item in items:
        if "hil_tests" not in str(item.fspath):
            continue
        for marker, why in WHY.items():
            if marker == "needs_power_control" and os.environ.get("ROBERT_BENCH_POWER"):
                continue
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"hardware bench: {why}"))


@pytest.fixture
def bench(request, tmp_path):
    b = open_bench(request.config.getoption("--bench"), tmp_path, seed=zlib.crc32(request.node.name.encode()))
    yield b
    b.close()
