"""The host port's FD64 exchange service on Bumble: a central's write reaches the core, nothing is readable."""

import asyncio

import pytest
from bumble.device import Peer
from bumble.gatt import Characteristic
from bumble.link import LocalLink
from fwtest import Port
from robert_token import gatt_profile, hello
from tokenkit import ready_token

from gateway.transport.ble import virtual_kiosk_device


async def _exchange(rssi_answer, payloads):
    from ports.host import ble, exchange

    port, token, _ = ready_token(Port())
    token.tick()
    link = LocalLink()
    dev, _ = await ble.start_virtual_token(link, lambda: None, "RT-00000098")
    ex = exchange.GattExchangeServer(dev, lambda v, r: token.on_hello_payload(v, r, port.clock.ticks_ms()))
    central = await virtual_kiosk_device(link)
    conn = await central.connect(dev.random_address)
    peer_conn = next(iter(dev.connections.values()))
    if rssi_answer is not None:
        # Bumble's virtual controller has no HCI Read RSSI; a real controller answers it
        async def rssi(connection):
            return rssi_answer
        peer_conn.device.get_connection_rssi = rssi
    peer = Peer(conn)
    svc = (await peer.discover_service(gatt_profile.EXCHANGE_SERVICE_UUID))[0]
    char = (await peer.discover_characteristics([gatt_profile.EXCHANGE_CHAR_UUID], svc))[0]
    for p in payloads:
        await peer.write_value(char, p, with_response=True)
    await asyncio.sleep(0.3)
    readable = bool(char.properties & Characteristic.Properties.READ)
    return token, ex, readable


def test_a_written_payload_is_logged_with_the_controller_rssi():
    msg = hello.build(bytes(32), 0x46, b"\x05" * 8, 3960000200)
    good = msg + bytes((2, (-10) & 0xFF))
    token, ex, readable = asyncio.run(_exchange(-55, [good, b"\x01" * 17, b"", bytes(200), good]))
    assert not readable, "the exchange characteristic is WRITE only"
    assert ex.taken == 1 and token.heard["hellos"] == 1  # the repeat is a duplicate, the rest refused
    assert ex.refused == 4


@pytest.mark.parametrize("payload", [b"\x00" * 18])
def test_without_an_rssi_the_write_is_refused_not_logged(payload):
    token, ex, _ = asyncio.run(_exchange(None, [payload]))
    assert ex.taken == 0 and ex.refused == 1 and token.heard["hellos"] == 0
