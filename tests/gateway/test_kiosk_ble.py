"""The status flow over BLE: Bumble virtual controllers, the host port's real GATT sync server."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import socket
import sys
from pathlib import Path

import pytest

importlib.import_module("robert_token.sync")

from bumble.controller import Controller  # noqa: E402
from bumble.link import LocalLink  # noqa: E402
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket  # noqa: E402
from kiosk_live import child_env, provision_pty  # noqa: E402
from ports.host import ble as token_ble  # noqa: E402
from ports.host.process import HostToken  # noqa: E402
from seed import hear_hellos  # noqa: E402

from gateway import flows  # noqa: E402
from gateway.errors import LinkLost  # noqa: E402
from gateway.history import count_hellos, to_report_contacts  # noqa: E402
from gateway.robert_api import RobertApi  # noqa: E402
from gateway.token_client import TokenClient  # noqa: E402
from gateway.transport.ble import BleLink, virtual_kiosk_device  # noqa: E402

BIN = Path(sys.executable).parent
ROBERT_TOKEN = [str(BIN / "robert-token")]
KIOSK = [str(BIN / "robert-kiosk")]
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


def test_history_over_ble_resumes_after_the_token_drops_the_connection(tmp_path, server):
    async def go():
        host, air, token_device = await ble_token(tmp_path, server)
        assert hear_hellos(host.token, host.clock, 600) == 600
        kiosk = await virtual_kiosk_device(air)
        address = str(token_device.random_address)
        link = await BleLink.connect(kiosk, address)
        client = TokenClient(link)
        info = await client.info()
        session = await client.open_history(info["clock"]["ntp"] - 86400, None)

        def drop(done, total):
            if done < total:  # out of range: the token side ends the connection
                for connection in list(token_device.connections.values()):
                    asyncio.ensure_future(connection.disconnect())

        with pytest.raises(LinkLost):
            await client.read_history(session, progress=drop)
        got_before = len(session["data"])
        link2 = await BleLink.connect(kiosk, address)
        data = await TokenClient(link2).read_history(session)
        await link2.close()
        return session, got_before, data

    session, got_before, data = asyncio.run(go())
    assert 0 < got_before < session["size"] and len(data) == session["size"]
    assert count_hellos(to_report_contacts(data)) == 600


async def controller_on_tcp(air: LocalLink):
    """A virtual controller on `air` whose HCI is served on a free loopback TCP port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    transport = await open_tcp_server_transport_with_socket(sock)
    Controller(f"hci-{port}", host_source=transport.source, host_sink=transport.sink, link=air)
    return port, transport


def test_cli_status_over_ble_between_processes(tmp_path, server):
    """`robert-kiosk status --port ble:ADDR`: kiosk and token are separate processes whose
    virtual controllers share one Bumble link (served over TCP by this test)."""
    serial = "RT-0000B1E1"

    async def go():
        air = LocalLink()
        token_port, t1 = await controller_on_tcp(air)
        kiosk_port, t2 = await controller_on_tcp(air)
        token = await asyncio.create_subprocess_exec(
            *ROBERT_TOKEN, "--state", str(tmp_path / "flash"), "--serial", serial,
            "--ble", f"tcp-client:127.0.0.1:{token_port}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=child_env())
        try:
            pty = (await token.stdout.readline()).decode().split()[1]
            assert (await token.stdout.readline()).strip() == b"READY"
            await asyncio.to_thread(provision_pty, pty, server)
            env = child_env() | {"ROBERT_KIOSK_BLE_TRANSPORT": f"tcp-client:127.0.0.1:{kiosk_port}"}
            kiosk = await asyncio.create_subprocess_exec(
                *KIOSK, "status", "--port", "ble:" + str(token_ble.address_for(serial)),
                "--server", server.url, "--json", stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env)
            out, err = await asyncio.wait_for(kiosk.communicate(), 60)
            return kiosk.returncode, out.decode(), err.decode()
        finally:
            token.kill()
            await token.wait()
            await t1.close()
            await t2.close()

    code, out, err = asyncio.run(go())
    assert code == 0, err
    answer = json.loads(out)
    assert answer["token"]["serial"] == serial and answer["token"]["headline"] == "Not at risk"
    assert answer["tuples_written"] > 0
