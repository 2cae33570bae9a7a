"""`gateway.home` over BLE: the gateway hears a token's sync advert, connects, runs the status flow."""

from __future__ import annotations

import asyncio
import importlib
import io

importlib.import_module("robert_token.sync")

from bumble.link import LocalLink  # noqa: E402
from kiosk_live import provision_pty  # noqa: E402
from ports.host import ble as token_ble  # noqa: E402
from ports.host.process import HostToken  # noqa: E402
from robert_token import gatt_profile  # noqa: E402

from gateway import home  # noqa: E402
from gateway.robert_api import RobertApi  # noqa: E402
from gateway.transport.ble import BleLink, virtual_kiosk_device  # noqa: E402

SERIAL = "RT-0000B1E9"


def test_the_gateway_finds_a_token_by_its_sync_advert_and_syncs_it(tmp_path, server):
    lines = []

    async def go():
        host = HostToken(str(tmp_path / "flash"), serial=SERIAL, out=io.StringIO())
        await host.start()
        await asyncio.to_thread(provision_pty, host.pty.name, server)
        air = LocalLink()
        await token_ble.start_virtual_token(air, host.new_session, SERIAL)
        device = await virtual_kiosk_device(air)
        gw = home.HomeGateway(lambda a: BleLink.connect(device, a), lambda: RobertApi(server.url),
                              say=lines.append)
        stop = asyncio.Event()

        async def until_synced():
            while not gw.outcomes:
                await asyncio.sleep(0.05)
            stop.set()

        waiter = asyncio.ensure_future(until_synced())
        await asyncio.wait_for(home.run_ble(gw, device, stop), 30)
        waiter.cancel()
        return gw

    gw = asyncio.run(go())
    out = gw.outcomes[0]
    assert out.ok and out.serial == SERIAL, out.text
    assert out.protected_until is not None and out.risk_level == 0
    assert lines[0].startswith("synced ") and "Protected until" in lines[0]
    # heard again soon after: left alone (one sync per window)
    address = next(iter(gw.synced))
    assert not gw.heard(address, [gatt_profile.SYNC_SERVICE_UUID])


def test_only_sync_adverts_are_queued_and_once():
    t = [1000.0]
    gw = home.HomeGateway(None, None, say=lambda _l: None, clock=lambda: t[0])
    assert not gw.heard("C0:00:00:00:00:01", [gatt_profile.EXCHANGE_SERVICE_UUID])
    assert not gw.heard("C0:00:00:00:00:01", [])
    assert gw.heard("C0:00:00:00:00:01", [gatt_profile.SYNC_SERVICE_UUID.upper()])
    assert not gw.heard("C0:00:00:00:00:01", [gatt_profile.SYNC_SERVICE_UUID])  # already queued
    gw._queued.clear()
    gw.synced["C0:00:00:00:00:01"] = t[0]
    assert not gw.heard("C0:00:00:00:00:01", [gatt_profile.SYNC_SERVICE_UUID])
    t[0] += home.RESYNC_GAP_S + 1
    assert gw.heard("C0:00:00:00:00:01", [gatt_profile.SYNC_SERVICE_UUID])
