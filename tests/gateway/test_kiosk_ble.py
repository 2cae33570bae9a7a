"""The status flow over BLE: Bumble virtual controllers, the host port's real GATT sync server."""

from __future__ import annotations

import asyncio
import io

import pytest

pytest.importorskip("robert_token.sync", reason="the token core is not there yet")

from bumble.link import LocalLink  # noqa: E402
from conftest import live  # noqa: E402
from kiosk_live import provision_pty  # noqa: E402
from ports.host import ble as token_ble  # noqa: E402
from ports.host.process import HostToken  # noqa: E402

from gateway import flows  # noqa: E402
from gateway.errors import LinkLost  # noqa: E402
from gateway.robert_api import RobertApi  # noqa: E402
from gateway.token_client import TokenClient  # noqa: E402
from gateway.transport.ble import BleLink, virtual_kiosk_device  # noqa: E402

pytestmark = live
SERIAL = "RT-0000B1E0"


async def ble_token(tmp_path, server):
    host = HostToken(str(tmp_path / "flash"), serial=SERIAL, out=io.StringIO())
    await host.start()
    await asyncio.to_thread(provision_pty, host.pty.name, server)
    air = LocalLink()
    device, _ = await token_ble.start_virtual_token(air, host.new_session, SERIAL)
    return host, air, device


def test_status_flow_over_ble(tmp_path, server):
    async def go():
        host, air, token_device = await ble_token(tmp_path, server)
        kiosk = await virtual_kiosk_device(air)
        link = await BleLink.connect(kiosk, str(token_device.random_address))
        assert link.mtu == 247
        client = TokenClient(link)
        assert (await client.echo(bytes(range(256)) * 4)) == bytes(range(256)) * 4
        async with RobertApi(server.url) as api:
            result = await flows.status_flow(client, api)
        await link.close()
        with pytest.raises(LinkLost):
            await client.info()
        return result

    result = asyncio.run(go())
    assert result.token.serial == SERIAL and result.token.headline == "Not at risk"
    assert result.tuples_written > 0
