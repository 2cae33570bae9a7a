"""The GATT exchange in the air: how long a phone's connection to a peer takes, and if it works.

The real exchange (ROBERT-PROTOCOL.md, "How the real apps exchange HELLOs"):
a central that heard a connectable 0xFD64 advert connects on one of the
peer's next adverts, discovers the FD64 service and its characteristic, then
writes its 18-byte payload (iPhone -> Android or token) or reads the peer's
(Android or iPhone -> iPhone), and disconnects. The costs modelled here:

- the connection starts on the peer's next advertising event: 0..1 advert
  interval after it was heard (a CONNECT_IND answers an ADV_IND);
- `power.EXCHANGE_EVENTS` connection events, `power.CONN_INTERVAL_MS` apart:
  MTU exchange, service discovery by UUID (2 round trips), characteristic
  discovery (2), the write request / response or read (1), the termination;
  an ATT response comes in the connection event after its request;
- every connection event is one packet through the channel: a lost one is
  retransmitted in the next event (BLE acknowledges every packet), so loss
  only stretches the exchange; the app gives up after `CONNECT_TIMEOUT_S`
  (StopCovid iOS `BluetoothCentralManager.scheduleConnectionTimeoutTimer`:
  5 s), and a peer out of range never answers;
- the RSSI the receiver logs is the connection's (one packet's) RSSI.

The figures are the token's too: `robert_token.power` costs each exchange
with the same events, so the power table and the detection tests agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from robert_token import power

from hil_tests.sim.channel import Channel

CONNECT_TIMEOUT_S = 5.0  # StopCovid iOS BluetoothCentralManager: "must be lower than 10 seconds"
PEER_INTERVAL_S = 60.0  # BluetoothSettings.connectionTimeInterval: once a minute per peer
NEXT_CONNECTION_S = 1.0  # handleDisconnection: the next connection 1 s after a disconnection


@dataclass(frozen=True)
class Exchange:
    """One planned connection: it ends at `t_end` with the connection RSSI, or failed (rssi None)."""

    t_start: float
    t_end: float
    rssi: int | None
    events: int

    @property
    def ok(self) -> bool:
        return self.rssi is not None


def plan(channel: Channel, rng: random.Random, t_heard: float, adv_interval_s: float,
         distance_m: float, tx_power_dbm: float) -> Exchange:
    """When a connection made on hearing an advert at `t_heard` ends, and whether it works."""
    interval = power.CONN_INTERVAL_MS / 1000.0
    t_start = t_heard + rng.uniform(0.0, adv_interval_s)
    rssi = None
    events = 0
    needed = power.EXCHANGE_EVENTS
    t = t_start
    while needed > 0:
        if t - t_start > CONNECT_TIMEOUT_S:
            return Exchange(t_start, t, None, events)
        events += 1
        got = channel.receive(rng, distance_m, tx_power_dbm)
        t += interval
        if got is None:
            continue
        if rssi is None:
            rssi = got
        needed -= 1
    return Exchange(t_start, t, rssi, events)
