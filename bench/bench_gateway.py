"""Kiosk benchmarks: history transfer over the pty and over BLE, and plugged -> status shown.

Everything runs for real on loopback: a robert-server process, host-port
tokens (a process on a pty; the same core in-process behind Bumble's virtual
BLE link). The token's log is filled with HELLOs through the core's own
`on_advert` before the transfer is timed.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gateway"))

HISTORY_HELLOS = 3000
REPEATS = 3
ATT_L2CAP_HEADER = 7  # ATT opcode + handle (3) and L2CAP length + channel (4) per PDU


def _pdus(link) -> int:
    inner = link.link
    return getattr(inner, "pdus_sent", 0) + getattr(inner, "pdus_received", 0)


async def _timed_history(client, link) -> dict:
    """Open the whole window and read it (median of REPEATS); count payload against wire bytes."""
    info = await client.info()
    now = info["clock"]["ntp"]
    runs = []
    for _ in range(REPEATS):
        sent0, recv0, pdus0 = link.bytes_sent, link.bytes_received, _pdus(link)
        start = time.perf_counter()
        session = await client.open_history(now - 14 * 86400, None)
        data = await client.read_history(session)
        seconds = time.perf_counter() - start
        wire = (link.bytes_sent - sent0) + (link.bytes_received - recv0)
        runs.append({"bytes": len(data), "seconds": seconds, "wire": wire,
                     "pdus": _pdus(link) - pdus0})
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


async def _status_shown(pty: str, server_url: str) -> tuple[float, float]:
    """Seconds from 'plugged' (port appears) to INFO shown, and to the server status shown."""
    from gateway import flows
    from gateway.connect import open_link
    from gateway.robert_api import RobertApi
    from gateway.token_client import TokenClient

    start = time.perf_counter()
    link = await open_link(pty)
    client = TokenClient(link)
    await flows.info_flow(client)
    t_info = time.perf_counter() - start
    async with RobertApi(server_url) as api:
        await flows.status_flow(client, api)
    t_status = time.perf_counter() - start
    await link.close()
    return t_info, t_status


def _row(name: str, m: dict, mtu: object) -> list[object]:
    rate = m["bytes"] / m["seconds"] if m["seconds"] else 0.0
    eff = m["bytes"] / m["wire"] if m["wire"] else 0.0
    on_air = m["wire"] + ATT_L2CAP_HEADER * m["pdus"]
    att_eff = round(m["bytes"] / on_air, 3) if m["pdus"] else "-"
    return [name, mtu, m["bytes"], round(m["seconds"] * 1000, 1), round(rate / 1024, 1),
            round(eff, 3), m["pdus"] or "-", att_eff]


def run() -> list[Table]:
    from kiosk_live import provision, server_in, token_in
    from seed import seed_history

    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        tmp = Path(tmp)
        server = server_in(tmp / "server").start()
        try:
            token = token_in(tmp / "tok", "RT-0000BE0C").start()
            try:
                provision(token, server)
                plugged = asyncio.run(_status_shown(token.pty, server.url))
            finally:
                token.stop()
            hellos = seed_history(token.state, HISTORY_HELLOS)
            token.start()
            try:
                pty_m = asyncio.run(_pty_history(token.pty))
            finally:
                token.stop()
            ble_m, mtu = asyncio.run(_ble_history(token.state, token.serial))
        finally:
            server.stop()
    history = Table(
        "Kiosk: history transfer (HISTORY_OPEN + HISTORY_READ, whole window)",
        ["link", "ATT MTU", "history bytes", "ms", "KiB/s", "payload/frames", "ATT PDUs",
         "payload/(frames+ATT+L2CAP)"],
        [_row("pty (USB path)", pty_m, "-"), _row("BLE (Bumble virtual link)", ble_m, mtu)],
        note=f"{hellos} HELLOs in the log, median of {REPEATS} reads; payload/frames = history "
             "bytes / all sync-frame bytes both ways; the last column adds 7 header bytes per "
             "ATT PDU (link-layer headers not counted). The virtual link has no radio timing "
             "(connection intervals), so BLE KiB/s is the stack's CPU bound, not air time. "
             "BLE/pty throughput ratio: "
             f"{(ble_m['bytes'] / ble_m['seconds']) / (pty_m['bytes'] / pty_m['seconds']):.2f}")
    plug = Table("Kiosk: token plugged (or in BLE range) -> shown, loopback server",
                 ["step", "seconds"],
                 [["USB: INFO shown", round(plugged[0], 3)],
                  ["USB: status shown (clock, status request, server, bundle written)",
                   round(plugged[1], 3)],
                  ["BLE: connected (MTU, discovery, subscribe) and INFO shown",
                   round(ble_m["connect_info"], 3)]])
    return [history, plug]


async def _pty_history(pty: str) -> dict:
    from gateway.link import CountingLink
    from gateway.token_client import TokenClient
    from gateway.transport.serial import SerialLink

    link = CountingLink(SerialLink.open(pty))
    try:
        return await _timed_history(TokenClient(link), link)
    finally:
        await link.close()


async def _ble_history(flash: Path, serial: str) -> tuple[dict, int]:
    from bumble.link import LocalLink
    from ports.host import ble as token_ble
    from ports.host.process import HostToken

    from gateway.link import CountingLink
    from gateway.token_client import TokenClient
    from gateway.transport.ble import BleLink, virtual_kiosk_device

    host = HostToken(str(flash), serial=serial, out=io.StringIO())
    await host.start()
    air = LocalLink()
    device, _ = await token_ble.start_virtual_token(air, host.new_session, serial)
    kiosk = await virtual_kiosk_device(air)
    start = time.perf_counter()
    ble = await BleLink.connect(kiosk, str(device.random_address))
    link = CountingLink(ble)
    client = TokenClient(link, timeout=5.0)
    try:
        await client.info()
        connect_info = time.perf_counter() - start
        measured = await _timed_history(client, link)
        measured["connect_info"] = connect_info
        return measured, ble.mtu
    finally:
        await link.close()
