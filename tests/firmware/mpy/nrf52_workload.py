"""One hour of the nRF52 token's main loop on the CircuitPython doubles, on battery (bench/bench_nrf52.py).

Prints one JSON line: wake-ups, scan windows, advertising time, LED flashes.
Runs under CPython or the MicroPython VM; board time only (reproducible).
"""

import json
import sys

HERE = __file__.rsplit("/", 1)[0]
sys.path.insert(0, HERE + "/fakehw")
sys.path.insert(0, HERE + "/../../../firmware/ports/nrf52")

import _bleio  # noqa: E402
import app as nrf_app  # noqa: E402
import circuitpy  # noqa: E402
import digitalio  # noqa: E402
import port as nrf  # noqa: E402
import supervisor  # noqa: E402
from robert_token import hello, scanner  # noqa: E402
from tokenkit import NOW, ready_token  # noqa: E402

HOUR = 3600000


def main(root):
    supervisor.sim_reset()
    circuitpy.hard_reset()
    supervisor.runtime.usb_connected = False
    p, t, _ = ready_token(nrf.Nrf52Port(root=root), count=12)
    t.busy_until = None
    a = nrf_app.App(port=p, token=t)
    adv = scanner.build_advert(hello.build(b"x" * 32, 0x21, b"PEEREBID", NOW), 0, 0)
    _bleio.adapter.air.append([supervisor.now[0] + 3, _bleio.ScanEntry(b"\x01\x02\x03\x04\x05\xc6", adv, -60), 200])
    start = supervisor.now[0]
    while supervisor.now[0] - start < HOUR:
        supervisor.sim_advance(a.step())
    end = supervisor.now[0]
    on = 0
    since = None
    for ev in _bleio.adapter.on_air:
        if ev[0] < start:
            continue
        if ev[1] == "start" and since is None:
            since = ev[0]
        elif ev[1] == "stop" and since is not None:
            on += ev[0] - since
            since = None
    if since is not None:
        on += end - since
    log = [x for x in digitalio.sim_output("LED").log if x[0] >= start]
    flashes = 0
    for i in range(len(log) - 1):
        if log[i][1] and not log[i + 1][1] and log[i + 1][0] - log[i][0] == 20:
            flashes += 1
    print(json.dumps({"ms": end - start, "wakes": a.wakes, "scans": _bleio.adapter.scans, "adv_ms": on,
                      "flashes": flashes, "expected_flashes": (end - start) // 10000, "hellos": t.log.hellos}))


main(sys.argv[1] if len(sys.argv) > 1 else "flash_nrf52_bench")
