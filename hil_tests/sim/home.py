"""The home gateway's radio in the simulated world: it listens all the time for sync windows.

The gateway's logic is the real one (`gateway.home`): `World.home_sync` runs
`gateway.home.sync_client` on the token. What the air does not carry is the
sync session's bytes: they go over the token's pty (the same frames a BLE
link carries, docs/sync-protocol.md) while virtual time stands still, right
after the gateway heard the token's connectable sync advert. So the test
proves the window is open and visible when the gateway needs it, and the
flow that then runs is the gateway's.
"""

from __future__ import annotations

from robert_token import gatt_profile

from hil_tests.sim.air import Node
from hil_tests.sim.channel import ScanPlan

SYNC_UUID_LE = bytes(reversed(gatt_profile.uuid_bytes(gatt_profile.SYNC_SERVICE_UUID)))


class GatewayEar(Node):
    """Scans continuously; writes down every connectable sync-window advert: (t, sender address)."""

    def __init__(self, name: str = "HomeGateway") -> None:
        super().__init__(name=name)
        self.scan = ScanPlan(10.0, 10.0, 0.0)
        self.windows: list[tuple[float, bytes]] = []

    def on_rx(self, t: float, addr: bytes, data: bytes, rssi: int) -> None:
        self.heard += 1
        if SYNC_UUID_LE in data:
            self.windows.append((t, addr))
