"""The home (or care-home) gateway: keeps every token near it synced, unattended.

Why: the real ROBERT server gives 4 days of identifiers per sync and no way to
ask for more (ROBERT-PROTOCOL.md, "Tuples bundle"), so a token synced only at
the pharmacy goes silent on its fifth day. Once a day each token opens a short
connectable sync window at a time of its own choosing (firmware
`robert_token/token.py`, `sync_window_*`): it advertises only the sync
service UUID, from its current random address, no name, no serial. The
gateway listens all the time; for every token it hears in its window it runs
the kiosk's status flow over BLE (clock from the server, the token-built status
request, the answer's risk state, which the token's LED shows, and the new
bundle). It never reports a positive test: that needs the holder's consent and
a code, at the pharmacy.

`robert-kiosk gateway --server URL` runs it (gateway/cli.py); docs/kiosk.md
has the systemd unit. Each sync is one plain line on stdout (for the journal).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from robert_token import gatt_profile

from gateway import flows
from gateway.errors import KioskError
from gateway.link import Link
from gateway.robert_api import RobertApi
from gateway.token_client import TokenClient

RESYNC_GAP_S = 6 * 3600  # an address synced less than this ago is left alone (one window a day)
SCAN_RESTART_S = 60.0


@dataclass
class SyncOutcome:
    """What one sync did, in the words written to the journal."""

    serial: str | None
    ok: bool
    text: str
    protected_until: datetime | None = None
    risk_level: int | None = None


def protected_until_text(view: flows.TokenView) -> str:
    """The date the token needs its next sync by: when its identifiers run out."""
    if view.tuples_until is None:
        return "No identifiers left: sync it now (at the pharmacy or the home gateway)."
    return (f"Protected until {view.tuples_until:%Y-%m-%d %H:%M} UTC: sync it before then "
            "(the home gateway does it every day).")


async def sync_token(link: Link, api: RobertApi, timeout: float = 3.0) -> SyncOutcome:
    """The status flow on one token; a refusal becomes a failed outcome in plain words."""
    return await sync_client(TokenClient(link, timeout=timeout), api, link.description)


async def sync_client(client: TokenClient, api: RobertApi, where: str = "the link") -> SyncOutcome:
    try:
        result = await flows.status_flow(client, api)
    except KioskError as exc:
        return SyncOutcome(None, False, f"sync failed over {where}: {exc.message}")
    view = result.token
    return SyncOutcome(view.serial, True, f"{view.serial}: {view.headline}. {protected_until_text(view)}",
                       view.tuples_until, result.risk_level)


def is_sync_window(service_uuids: list[str]) -> bool:
    """Does an advert announce the sync service (a token in its daily window)?"""
    return any(u.lower() == gatt_profile.SYNC_SERVICE_UUID for u in service_uuids)


class HomeGateway:
    """Listens for tokens' sync windows and syncs each one it hears, one at a time.

    `connect(address) -> Link` opens the link (BLE in production, anything in
    tests); `api()` makes a RobertApi; `say(line)` writes the journal.
    """

    def __init__(self, connect: Callable[[str], Awaitable[Link]], api: Callable[[], RobertApi],
                 say: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic,
                 timeout: float = 3.0) -> None:
        self.connect = connect
        self.api = api
        self.say = say
        self.clock = clock
        self.timeout = timeout
        self.synced: dict[str, float] = {}  # address -> when
        self.outcomes: list[SyncOutcome] = []
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()

    def heard(self, address: str, service_uuids: list[str]) -> bool:
        """An advert was heard; queue the token if it is in its window and not synced lately."""
        if not is_sync_window(service_uuids) or address in self._queued:
            return False
        last = self.synced.get(address)
        if last is not None and self.clock() - last < RESYNC_GAP_S:
            return False
        self._queued.add(address)
        self.queue.put_nowait(address)
        return True

    async def sync_address(self, address: str) -> SyncOutcome:
        try:
            link = await self.connect(address)
        except KioskError as exc:
            out = SyncOutcome(None, False, f"token at {address} not reached: {exc.message}")
        else:
            try:
                async with self.api() as api:
                    out = await sync_token(link, api, self.timeout)
            finally:
                with contextlib.suppress(Exception):
                    await link.close()
            if out.ok:
                self.synced[address] = self.clock()
        self._queued.discard(address)
        self.outcomes.append(out)
        self.say(("synced " if out.ok else "NOT synced ") + out.text)
        return out

    async def work(self) -> None:
        """Sync the queued tokens, forever (one connection at a time)."""
        while True:
            address = await self.queue.get()
            await self.sync_address(address)


async def run_ble(gateway: HomeGateway, device, stop: asyncio.Event) -> None:
    """Scan with a powered-on Bumble `device` and feed `gateway` until `stop` is set."""
    from bumble.core import AdvertisingData

    def on_advertisement(adv) -> None:
        uuids = adv.data.get(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
        uuids += adv.data.get(AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
        if adv.is_connectable:
            gateway.heard(str(adv.address).split("/")[0], [str(u) for u in uuids])

    device.on("advertisement", on_advertisement)
    worker = asyncio.ensure_future(gateway.work())
    try:
        await device.start_scanning(filter_duplicates=False)
        await stop.wait()
    finally:
        worker.cancel()
        with contextlib.suppress(Exception):
            await device.stop_scanning()
        device.remove_listener("advertisement", on_advertisement)


def main_gateway(args) -> int:
    """`robert-kiosk gateway`: Bumble on `args.transport`, until SIGTERM / Ctrl-C; exit codes as the kiosk."""
    import signal
    import sys

    from gateway.errors import EXIT_LINK, EXIT_OK

    async def go() -> int:
        from bumble import hci
        from bumble.device import Device
        from bumble.transport import open_transport

        from gateway.transport.ble import KIOSK_ADDRESS, BleLink

        try:
            transport = await open_transport(args.transport)
        except Exception as exc:  # Bumble raises many types for a missing dongle
            print(f"robert-kiosk gateway: the Bluetooth controller {args.transport!r} cannot be "
                  f"opened ({type(exc).__name__}). Plug in the dongle or give --transport.",
                  file=sys.stderr)
            return EXIT_LINK
        device = Device.with_hci("robert-gateway", hci.Address(KIOSK_ADDRESS), transport.source,
                                 transport.sink)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await device.power_on()
            gateway = HomeGateway(lambda address: BleLink.connect(device, address),
                                  lambda: RobertApi(args.server), say=lambda line: print(line, flush=True),
                                  timeout=args.timeout)
            print(f"robert-kiosk gateway: listening for tokens' sync windows; server {args.server}",
                  flush=True)
            await run_ble(gateway, device, stop)
        finally:
            await transport.close()
        return EXIT_OK

    return asyncio.run(go())
