"""The FD64 GATT exchange: what it costs a token in power and what it buys in detection.

Power from `robert_token.power` (the same figures the air times connections
with). Detection from the air alone (in-process nodes, seeded): a token-like
node with the token's schedule (connectable advert every 500 ms, 600 ms scan a
minute) next to an Android or an iPhone for an hour; a minute counts when the
token logged at least one HELLO of the phone in it (what scoring bins).
"""

from __future__ import annotations

import os

from robert_token import power
from robert_token.scanner import build_advert, parse_advert

from bench.table import Table
from hil_tests.sim import gatt
from hil_tests.sim.air import Advert, Air, Node
from hil_tests.sim.channel import AdvPlan, Channel, ScanPlan
from hil_tests.sim.phone import Phone
from robert import timeutil

T0 = 4_000_000_000.0
HOUR = 3600.0


class TokenLike(Node):
    """The token's radio schedule; logs the minutes in which it got a HELLO, by channel."""

    def __init__(self, connectable: bool) -> None:
        super().__init__(name="token")
        s = power.DEFAULT_SCHEDULE
        self.adv = Advert(b"\xc2" * 6, build_advert(bytes(range(16)), 2, 0),
                          AdvPlan(s["adv_interval_ms"] / 1000.0, T0), connectable)
        self.scan = ScanPlan(s["scan_window_ms"] / 1000.0, s["scan_interval_ms"] / 1000.0, T0 + 13)
        self.minutes: dict[str, set[int]] = {"advert": set(), "written": set()}

    def on_rx(self, t, addr, data, rssi):
        if parse_advert(data) is not None:
            self.minutes["advert"].add(int((t - T0) // 60))

    def on_exchange_write(self, t, payload, rssi):
        self.minutes["written"].add(int((t - T0) // 60))
        return True


def _phone(kind: str, seed: int) -> Phone:
    p = Phone(name=kind, seed=seed, os=kind)
    p.k_mac = os.urandom(32)
    first = timeutil.epoch_id(int(T0))
    p.tuples = {first + i: (os.urandom(8), 1) for i in range(8)}
    return p


def _hour(kind: str, distance: float, connectable: bool, seed: int):
    air = Air(T0, Channel(), seed).start()
    tok, phone = TokenLike(connectable), _phone(kind, seed)
    try:
        for n in (tok, phone):
            air.add_node(n)
        air.place("token", (0, 0))
        air.place(kind, (distance, 0))
        air.run_until(T0 + HOUR)
        return tok, phone, dict(air.exchange_counts)
    finally:
        air.stop()


def run() -> list[Table]:
    pw = Table("GATT exchange: power (robert_token/power.py)",
               ["model", "case", "average uA", "vs old", "months on 1000 mAh"])
    for model in power.MODELS:
        old = power.average_current_ua(model, connectable=False)[0]
        home = dict(power.DEFAULT_SCHEDULE, syncs_per_month=30)
        cases = [("non-connectable (before)", {"connectable": False}),
                 ("connectable, no iPhone near", {}),
                 ("+ 1 iPhone near all the time (60 exchanges/h)", {"exchanges_per_hour": 60}),
                 ("+ 5 iPhones near all the time", {"exchanges_per_hour": 300}),
                 ("connectable + daily home-gateway sync", {"schedule": home})]
        for name, kw in cases:
            ua = power.average_current_ua(model, **kw)[0]
            pw.rows.append([model, name, ua, f"{ua - old:+.1f}", power.battery_months(1000, model, **kw)])
    pw.note = (f"One exchange = {power.EXCHANGE_EVENTS} connection events {power.CONN_INTERVAL_MS} ms apart: "
               f"{power.exchange_uc('nrf52840'):.0f} uC on nRF52840, {power.exchange_uc('esp32'):.0f} uC on "
               f"ESP32. Connectable adverts listen {power.CONNECTABLE_LISTEN_US} us after each packet. "
               "An iPhone connects to one peer at most once a minute. The home sync is costed as "
               "a full BLE sync (MODELS sync_mas), daily.")

    det = Table("GATT exchange: detection, one hour side by side (air only, seeds 1-3)",
                ["phone", "distance m", "token connectable", "minutes token heard phone /60",
                 "phone HELLOs from token", "exchanges ok", "failed", "mean exchange s"])
    for kind in ("android", "ios"):
        for distance in (1.0, 3.0, 8.0):
            for connectable in ((True, False) if kind == "ios" else (True,)):
                mins, got, ok, bad = [], [], 0, 0
                for seed in (1, 2, 3):
                    tok, phone, counts = _hour(kind, distance, connectable, seed)
                    mins.append(len(tok.minutes["advert"] | tok.minutes["written"]))
                    got.append(phone.heard)
                    ok += counts.get("write ok", 0)
                    bad += counts.get("write failed", 0)
                mean_s = _mean_exchange_s(distance)
                det.rows.append([kind, distance, connectable, sum(mins) / 3, sum(got) / 3, ok / 3, bad / 3,
                                 mean_s if kind == "ios" and connectable else "-"])
    det.note = ("A token hears an Android through its own scan (600 ms a minute) and an iPhone only "
                "through the iPhone's writes (an iPhone shows no service data): without the exchange "
                "(not connectable) it hears no iPhone at all. The token does not read iPhones: the "
                "iPhone already writes once a minute, the same one-a-minute detail scoring uses, "
                "so reading would add the cost of being a central (a connection a minute per "
                "iPhone, as above, plus scanning for the UUID) for no more minutes.")
    return [pw, det]


def _mean_exchange_s(distance: float) -> float:
    import random

    rng = random.Random(7)
    plans = [gatt.plan(Channel(), rng, 0.0, 0.5, distance, 0.0) for _ in range(500)]
    done = [p.t_end for p in plans if p.ok]
    return sum(done) / len(done) if done else float("nan")


if __name__ == "__main__":
    for table in run():
        print(table.render())
        print()
