"""Host port: start-up, sync round trips over the pty and over BLE, air steps, memory.

Every figure comes from one run on this machine, so the ratios (BLE MTU 247
vs 23, pty vs BLE) are the meaningful part.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
import time
from pathlib import Path

from ports.host.launcher import TokenProcess

from bench.table import Table

ROUNDS = 200
T0 = 3976214400.0 + 30 * 86400
TIME_START = 3799958400


def _spawn(state: str, serial: str, *args: str) -> tuple[TokenProcess, float]:
    """A started token and its start-to-READY time."""
    start = time.perf_counter()
    token = TokenProcess(state, *args, serial=serial).start()
    return token, time.perf_counter() - start


def _ask(port, decoder, ftype: int, seq: int, payload: bytes) -> bytes:
    """One request over the pty; the answer's payload (status byte first)."""
    from robert_token import frame

    port.write(frame.encode(ftype, seq, payload))
    while True:
        decoder.feed(port.read(max(1, port.in_waiting)))
        for _ftype, fseq, body in decoder.frames():
            if fseq == seq:
                return body


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _pty_rounds(pty: str, payload: bytes, rounds: int) -> float:
    """Seconds per ECHO round trip over the pty."""
    import serial
    from robert_token import frame

    decoder = frame.Decoder()
    with serial.Serial(pty, timeout=5) as port:
        start = time.perf_counter()
        for seq in range(rounds):
            got = _ask(port, decoder, frame.ECHO, seq, payload)
            assert got[1:] == payload
        return (time.perf_counter() - start) / rounds


async def _ble_rounds(state: str, mtu: int, payload: bytes, rounds: int) -> float:
    """Seconds per ECHO round trip over GATT on a Bumble virtual link (both ends in-process)."""
    from bumble.controller import Controller
    from bumble.device import Device, Peer
    from bumble.hci import Address
    from bumble.host import Host
    from bumble.link import LocalLink
    from bumble.transport.common import AsyncPipeSink
    from ports.host import ble
    from ports.host.clock import SystemClock
    from ports.host.led import LogLed
    from ports.host.port import HostPort
    from ports.host.radio import SilentRadio
    from ports.host.storage import FolderStorage
    from robert_token import frame
    from robert_token.sync import Session
    from robert_token.token import Token

    token = Token(HostPort(FolderStorage(state), SystemClock(), SilentRadio(), LogLed(),
                           serial="RT-BENCH"))
    link = LocalLink()
    device, _ = await ble.start_virtual_token(link, lambda: Session(token), "RT-BENCH")
    controller = Controller("kiosk", link=link)
    kiosk = Device(name="kiosk", address=Address("F0:F1:F2:F3:F4:F5"),
                   host=Host(controller, AsyncPipeSink(controller)))
    await kiosk.power_on()
    peer = Peer(await kiosk.connect(device.random_address))
    used = await peer.request_mtu(mtu) if mtu > 23 else 23
    service = (await peer.discover_service(ble.SERVICE_UUID))[0]
    chars = await peer.discover_characteristics(uuids=[ble.WRITE_UUID, ble.NOTIFY_UUID],
                                                service=service)
    by_uuid = {str(c.uuid).lower(): c for c in chars}
    decoder = frame.Decoder()
    arrived = asyncio.Event()

    def on_notify(value: bytes) -> None:
        decoder.feed(value)
        arrived.set()

    await peer.subscribe(by_uuid[ble.NOTIFY_UUID], on_notify)
    write = by_uuid[ble.WRITE_UUID]
    start = time.perf_counter()
    for seq in range(rounds):
        wire = frame.encode(frame.ECHO, seq, payload)
        for i in range(0, len(wire), used - 3):
            await peer.write_value(write, wire[i:i + used - 3], with_response=False)
        got = None
        while got is None:
            await arrived.wait()
            arrived.clear()
            for _ftype, fseq, body in decoder.frames():
                if fseq == seq:
                    got = body
        assert got[1:] == payload
    per_round = (time.perf_counter() - start) / rounds
    await peer.connection.disconnect()
    return per_round


def _provision_over_pty(pty: str, ntp: int) -> None:
    """Keys, clock and a day of tuples, so the token advertises and scans."""
    import binascii
    import struct

    import serial
    from robert_token import frame

    from robert.crypto import tuples_seal

    k_tuples = os.urandom(32)
    first = (ntp - TIME_START) // 900
    blob = tuples_seal(k_tuples, [(e, os.urandom(8), 0x46) for e in range(first, first + 96)])
    config = {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": "RT-BENCH2", "model": "host"}
    requests = [
        (frame.PROVISION, os.urandom(32) + k_tuples + bytes(6) + json.dumps(config).encode()),
        (frame.SET_TIME, json.dumps({"ntp": ntp}).encode()),
        *[(frame.BUNDLE_WRITE, struct.pack(">I", i) + blob[i:i + 1024])
          for i in range(0, len(blob), 1024)],
        (frame.BUNDLE_COMMIT, struct.pack(">II", len(blob), binascii.crc32(blob))),
    ]
    decoder = frame.Decoder()
    with serial.Serial(pty, timeout=5) as port:
        for seq, (ftype, payload) in enumerate(requests):
            answer = _ask(port, decoder, ftype, seq, payload)
            if answer[0] != frame.OK:
                raise RuntimeError(f"command {ftype} refused: {answer[1:].decode()}")


def _air_steps(state: str, steps: int) -> tuple[float, int, int]:
    """Seconds per `time` -> `idle` exchange with one advertising token on a loopback air."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        token, _ = _spawn(state, "RT-BENCH2", "--air", f"127.0.0.1:{port}")
        try:
            conn, _ = server.accept()
            with conn, conn.makefile("rwb") as stream:
                json.loads(stream.readline())  # join
                stream.write(b'{"op":"time","t":%r}\n' % T0)
                stream.flush()
                _provision_over_pty(token.pty, int(T0))
                t = T0
                adverts = 0
                start = time.perf_counter()
                for _ in range(steps):
                    stream.write(b'{"op":"time","t":%r}\n' % t)
                    stream.flush()
                    while True:
                        msg = json.loads(stream.readline())
                        adverts += msg["op"] == "adv"
                        if msg["op"] == "idle":
                            break
                    t = max(msg["wake"], t + 0.001)
                per_step = (time.perf_counter() - start) / steps
                rss = _rss_kib(token.proc.pid)
        finally:
            token.stop()
    return per_step, rss, int(t - T0)


def run() -> list[Table]:
    with tempfile.TemporaryDirectory() as tmp:
        token, ready_s = _spawn(os.path.join(tmp, "usb"), "RT-BENCH1")
        try:
            rss_start = _rss_kib(token.proc.pid)
            pty_rows = []
            for size in (0, 256, 2047):
                per = _pty_rounds(token.pty, os.urandom(size), ROUNDS)
                pty_rows.append([size, per * 1e3, (2 * size) / per / 1e6])
            rss_after = _rss_kib(token.proc.pid)
        finally:
            token.stop()

        ble_rows = []
        payload = os.urandom(2047)
        for mtu in (23, 247):
            per = asyncio.run(_ble_rounds(os.path.join(tmp, f"ble{mtu}"), mtu, payload, 40))
            ble_rows.append([mtu, per * 1e3, (2 * len(payload)) / per / 1e3])
        ble_ratio = ble_rows[0][1] / ble_rows[1][1]

        air_per, air_rss, air_span = _air_steps(os.path.join(tmp, "air"), 2000)

    sync = Table("host port: sync ECHO round trips",
                 ["link", "payload B", "ms / round trip", "throughput"],
                 note=f"{ROUNDS} rounds on the pty, 40 over BLE. BLE 2047 B at MTU 247 is "
                      f"{ble_ratio:.1f}x faster than at MTU 23 (same run).")
    for size, ms, mbps in pty_rows:
        sync.rows.append(["pty (USB)", size, ms, f"{mbps:.2f} MB/s"])
    for mtu, ms, kbps in ble_rows:
        sync.rows.append([f"BLE virtual link, MTU {mtu}", 2047, ms, f"{kbps:.1f} kB/s"])
    process = Table("host port: process", ["measure", "value"], rows=[
        ["start to READY (s)", ready_s],
        ["RSS at READY (KiB)", rss_start],
        [f"RSS after {3 * ROUNDS} pty round trips (KiB)", rss_after],
        ["air time->idle exchange (ms)", air_per * 1e3],
        ["air steps per second", 1 / air_per],
        ["virtual seconds covered by 2000 steps", air_span],
        ["RSS after 2000 air steps (KiB)", air_rss],
    ], note="The air token is provisioned with a day of tuples: it advertises and scans "
            "(no one else on the air, so it hears nothing).")
    return [sync, process]
