"""The simulated world in one object: a server stub, the air, token processes and phones.

Everything is a real process or a real protocol: `robert-server` on SQLite,
`robert-token --air` processes, the kiosk's own flows over each token's pty,
the station's `robert-provision`. Virtual time runs ahead of the wall clock, so
before every exchange with the server the world moves the server's clock to
the virtual time (`PUT /admin/clock`, see docs/bench.md).
"""

from __future__ import annotations

import os
import re
import time
from datetime import date
from pathlib import Path

import httpx
from ports.host.launcher import TokenProcess

from gateway import flows
from hil_tests.kiosk import Kiosk, run
from hil_tests.sim.air import Air
from hil_tests.sim.channel import Channel
from hil_tests.sim.phone import Phone
from robert import timeutil
from server_stub.process import ServerProcess


def serial_of(name: str) -> str:
    """The factory serial of a named simulated token: RT- and the name in capitals."""
    s = "RT-" + re.sub(r"[^0-9A-Z]", "", name.upper())[:16]
    if s == "RT-":
        raise ValueError(f"cannot make a serial from the name {name!r}")
    return s


def wall_ntp() -> float:
    """The wall clock in NTP seconds (float)."""
    return time.time() + timeutil.NTP_UNIX_DELTA


SKEW_ENV = "ROBERT_KIOSK_MAX_CLOCK_SKEW"


class World:
    """Server + air + tokens + phones, driven in virtual time from one thread."""

    def __init__(self, folder: Path, seed: int = 0, start_t: float | None = None,
                 channel: Channel | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.start_t = float(int(wall_ntp()) if start_t is None else start_t)
        self.air = Air(self.start_t, channel, seed)
        self.server = ServerProcess(self.folder / "server.db", "--dev-admin")
        self.tokens: dict[str, TokenProcess] = {}
        self.phones: dict[str, Phone] = {}
        self.desk: Kiosk | None = None

    # ------------------------------------------------------------ life
    def start(self) -> World:
        # The world's clock is virtual, the kiosk's the wall clock: the kiosk's check that the
        # server's clock agrees with its own (gateway.flows.max_clock_skew) is off while it runs.
        self._skew_env = os.environ.get(SKEW_ENV)
        os.environ[SKEW_ENV] = "off"
        self.air.start()
        self.server.start()
        self.desk = Kiosk(self.server.url, self.server.db, self.folder / "kiosk-queue",
                          self.sync_server_clock)
        self.sync_server_clock()
        return self

    def close(self) -> None:
        for tok in self.tokens.values():
            tok.kill()
        self.air.stop()
        self.server.close()
        if getattr(self, "_skew_env", None) is None:
            os.environ.pop(SKEW_ENV, None)
        else:
            os.environ[SKEW_ENV] = self._skew_env

    def __enter__(self) -> World:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def now(self) -> float:
        return self.air.now

    def today(self) -> date:
        return flows.ntp_to_datetime(int(self.now)).date()

    # ------------------------------------------------------------ server clock
    def sync_server_clock(self) -> float:
        """Move the server's clock to the virtual time; returns the offset set."""
        offset = self.now - wall_ntp()
        r = httpx.put(self.server.url + "/admin/clock", json={"offset": offset}, timeout=10)
        r.raise_for_status()
        return offset

    # ------------------------------------------------------------ members
    def add_token(self, name: str, drift_ppm: float = 0.0) -> TokenProcess:
        serial = serial_of(name)
        tok = TokenProcess(self.folder / name / "flash", "--air", f"127.0.0.1:{self.air.port}",
                           "--drift-ppm", str(drift_ppm), serial=serial).start()
        self.tokens[name] = tok
        self.air.wait_join(serial)
        self.air.tick()  # its first `time` builds the core and opens the USB side
        return tok

    def power_cycle(self, name: str) -> TokenProcess:
        """kill -9 the token, then power it up again on the same flash."""
        tok = self.tokens[name]
        tok.kill()
        return self.power_on(name)

    def power_on(self, name: str) -> TokenProcess:
        tok = self.tokens[name].start()
        self.air.wait_join(tok.serial)
        self.air.tick()
        return tok

    def add_phone(self, name: str, os: str = "android") -> Phone:
        phone = Phone(name=name, seed=self.seed + len(self.phones), os=os)
        self.sync_server_clock()
        run(self._with_api(lambda api: phone.register(api, self.desk.server_key())))
        self.air.add_node(phone)
        self.phones[name] = phone
        return phone

    def node_name(self, name: str) -> str:
        return name if name in self.phones else serial_of(name)

    def place(self, name: str, pos: tuple[float, float] | None, at: float | None = None) -> None:
        self.air.place(self.node_name(name), pos, at)

    def run_for(self, seconds: float) -> float:
        return self.air.run_for(seconds)

    def run_until(self, t: float) -> float:
        return self.air.run_until(t)

    # ------------------------------------------------------------ the kiosk
    def _session(self, name: str, call):
        """A kiosk session: the token's clock brought to now first, its new plans heard after."""
        serial = serial_of(name)
        self.air.tick(serial)
        try:
            return call(self.tokens[name].pty)
        finally:
            self.air.tick(serial)

    def kiosk(self, name: str, fn, timeout: float = 3.0):
        """Run `fn(client, api)` on a token, with the server clock at the virtual time."""
        return self._session(name, lambda pty: self.desk.on_port(pty, fn, timeout))

    def provision(self, name: str, days: int = 4) -> str:
        return self._session(name, lambda pty: self.desk.provision(pty, days))

    def info(self, name: str) -> dict:
        return self._session(name, self.desk.info)

    def status(self, name: str) -> flows.StatusResult:
        return self._session(name, self.desk.status)

    def report(self, name: str, onset: date | None = None) -> flows.ReportResult:
        return self._session(name, lambda pty: self.desk.report(pty, onset or self.today()))

    def phone_status(self, name: str) -> int:
        self.sync_server_clock()
        return run(self._with_api(lambda api: self.phones[name].status(api, int(self.now))))

    def phone_report(self, name: str) -> dict:
        code = self.desk.new_code()
        since = int(self.now) - 14 * 86400
        return run(self._with_api(lambda api: self.phones[name].report(api, code, since)))

    def add_home_gateway(self, pos: tuple[float, float]):
        """A home gateway's radio on the air (hil_tests/sim/home.py) at `pos`."""
        from hil_tests.sim.home import GatewayEar

        ear = GatewayEar()
        self.air.add_node(ear)
        self.air.place(ear.name, pos)
        self.home_ear = ear
        return ear

    def home_sync(self, name: str):
        """The home gateway's sync of one token (gateway.home.sync_client), bytes over its pty."""
        from gateway import home

        return self._session(name, lambda pty: self.desk.on_port(
            pty, lambda client, api: home.sync_client(client, api, "the simulated BLE link")))

    async def _with_api(self, fn):
        async with self.desk.api() as api:
            return await fn(api)
