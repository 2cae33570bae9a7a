"""The radio channel: how strong an advert arrives, whether it arrives, when a scanner listens.

Pure functions over a `random.Random`, so a seed fixes every outcome. The model
is the usual indoor one: log-distance path loss with log-normal shadowing,
plus a flat packet-loss probability and a receiver sensitivity.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

ADV_DELAY_MAX_S = 0.010  # BLE adds 0..10 ms of random delay to every advertising event


@dataclass(frozen=True)
class Channel:
    """Parameters of the channel; the defaults fit BLE between wearables indoors."""

    rssi_at_1m: float = -59.0  # dBm received at 1 m from a 0 dBm transmitter
    exponent: float = 2.2  # path-loss exponent (2 = free space)
    shadowing_db: float = 4.0  # standard deviation of the per-packet noise
    packet_loss: float = 0.05  # probability that an advertising event is lost anyway
    sensitivity_dbm: float = -100.0  # weaker packets are not received

    def mean_rssi(self, distance_m: float, tx_power_dbm: float = 0.0) -> float:
        """RSSI expected at `distance_m` (closer than 10 cm counts as 10 cm)."""
        d = max(distance_m, 0.1)
        return self.rssi_at_1m + tx_power_dbm - 10.0 * self.exponent * math.log10(d)

    def reach_m(self, tx_power_dbm: float = 0.0) -> float:
        """Beyond this distance nothing is ever heard (mean 4 sigma under the sensitivity)."""
        margin = self.rssi_at_1m + tx_power_dbm - (self.sensitivity_dbm - 4 * self.shadowing_db)
        return max(1.0, 10 ** (margin / (10.0 * self.exponent))) + 1.0

    def receive(self, rng: random.Random, distance_m: float, tx_power_dbm: float = 0.0) -> int | None:
        """One advertising event: the RSSI it arrives with, or None when it is lost."""
        if rng.random() < self.packet_loss:
            return None
        rssi = self.mean_rssi(distance_m, tx_power_dbm) + rng.gauss(0.0, self.shadowing_db)
        if rssi < self.sensitivity_dbm:
            return None
        return max(-127, min(20, round(rssi)))


@dataclass(frozen=True)
class ScanPlan:
    """A scanner listens `window_s` every `interval_s`, the first window opening at `phase`."""

    window_s: float
    interval_s: float
    phase: float

    def windows(self, t0: float, t1: float):
        """The (start, end) of the listening time inside [t0, t1), in order."""
        if self.window_s <= 0 or t1 <= t0:
            return
        interval = max(self.interval_s, self.window_s)
        k = max(0, math.floor((t0 - self.phase) / interval))
        while True:
            start = self.phase + k * interval
            if start >= t1:
                return
            a, b = max(start, t0), min(start + self.window_s, t1)
            if a < b:
                yield a, b
            k += 1


@dataclass(frozen=True)
class AdvPlan:
    """An advertiser sends one event every `interval_s` plus BLE's random 0-10 ms advDelay.

    The delays add up (about 5 ms an event), so by the time of a scan window
    a minute later the advertiser's phase is as good as random: each window
    draws it afresh. `phase` is when advertising started (no event before it).
    """

    interval_s: float
    phase: float

    def events(self, rng: random.Random, a: float, b: float):
        """Times of the advertising events that fall in [a, b)."""
        if self.interval_s <= 0 or b <= max(a, self.phase):
            return
        t = max(a, self.phase) + rng.uniform(0.0, self.interval_s)
        while t < b:
            yield t
            t += self.interval_s + rng.uniform(0.0, ADV_DELAY_MAX_S)


def first_heard(channel: Channel, rng: random.Random, adv: AdvPlan, a: float, b: float,
                distance_m: float, tx_power_dbm: float) -> tuple[float, int] | None:
    """The first advertising event in one scan window [a, b) that gets through: (t, rssi).

    A scanner reports an advertiser once per window (duplicate filtering, as
    BLE controllers do by default); each event in the window is one more chance.
    """
    if channel.mean_rssi(distance_m, tx_power_dbm) < channel.sensitivity_dbm - 4 * channel.shadowing_db:
        return None  # hopelessly far: skip the draws
    for t in adv.events(rng, a, b):
        rssi = channel.receive(rng, distance_m, tx_power_dbm)
        if rssi is not None:
            return t, rssi
    return None


def receptions(channel: Channel, rng: random.Random, nodes, t0: float, t1: float,
               with_sender: bool = False) -> list:
    """Everything heard in [t0, t1): (t, receiver, (addr, data), rssi), sorted by time then name.

    `with_sender` adds the sending node as a fifth item (the air's GATT
    exchanges need to know whom a phone connects to).

    `nodes` have `name`, `pos`, `scan` (a ScanPlan or None), `tx_power_dbm`,
    `adv_plan()` and `advert_at(t)`. One reception per advertiser per scan
    window (`first_heard`). The air (`air.Air._radio`) and the in-process
    world (`inproc`) hear with the same rules, in the same draw order.
    """
    if t1 <= t0:
        return []
    nodes = sorted(nodes, key=lambda n: n.name)
    scanners = [n for n in nodes if n.scan is not None and n.pos is not None]
    senders = [n for n in nodes if n.pos is not None and n.adv_plan() is not None]
    heard = []
    if not scanners or not senders:
        return heard
    reach = channel.reach_m(max(n.tx_power_dbm for n in senders))
    grid: dict[tuple[int, int], list[int]] = {}
    for i, tx in enumerate(senders):
        grid.setdefault((int(tx.pos[0] // reach), int(tx.pos[1] // reach)), []).append(i)
    for rx in scanners:
        windows = list(rx.scan.windows(t0, t1))
        if not windows:
            continue
        cx, cy = int(rx.pos[0] // reach), int(rx.pos[1] // reach)
        near = sorted(i for gx in (cx - 1, cx, cx + 1) for gy in (cy - 1, cy, cy + 1)
                      for i in grid.get((gx, gy), ()))
        for i in near:  # in name order, as without the grid: the same draws
            tx = senders[i]
            if tx is rx:
                continue
            d = math.dist(rx.pos, tx.pos)
            if channel.mean_rssi(d, tx.tx_power_dbm) < channel.sensitivity_dbm - 4 * channel.shadowing_db:
                continue  # hopelessly far (first_heard would skip it without a draw too)
            plan = tx.adv_plan()
            for a, b in windows:
                got = first_heard(channel, rng, plan, a, b, d, tx.tx_power_dbm)
                if got is None:
                    continue
                advert = tx.advert_at(got[0])
                if advert is not None:
                    heard.append((got[0], rx, advert, got[1], tx) if with_sender else
                                 (got[0], rx, advert, got[1]))
    heard.sort(key=lambda h: (h[0], h[1].name))
    return heard
