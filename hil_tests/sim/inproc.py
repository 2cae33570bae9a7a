"""The in-process world: the real token core for a whole town in one process, no process per token.

The same parts as `world.World`, without processes or sockets:
- each token is `robert_token.token.Token` over an in-memory port: flash in a
  dict (`memflash`), the host port's own `AirClock` as hardware timer, the
  radio plans given straight to the air's rules (`channel.receptions`);
  receptions and wake-ups follow the host port (`ports/host/process.py`:
  `_on_rx` advances the timer to the reception, `_on_time` ticks and sleeps
  for what `tick()` returned);
- phones are `phone.Phone`, as on the air;
- the server is the stub's own FastAPI app (`server_stub.app.create_app`)
  called through httpx's ASGI transport, on a clock that *is* virtual time;
- the kiosk and the station are their real flows (`gateway.flows`,
  `provisioning.station.provision_token`) over a link that feeds the token's
  `robert_token.sync.Session` directly.

Nothing reads the wall clock and every draw comes from the seed (token
addresses from a seeded generator too), so a scenario and its seed give the
same notifications twice. It has the surface `runner.play` uses, so
`robert-bench run --inproc` plays the same scenario files.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import random
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
from ports.host.clock import AirClock
from robert_token import sync
from robert_token.token import Token

from gateway import flows
from gateway.report_queue import ReportQueue
from gateway.robert_api import RobertApi
from gateway.token_client import TokenClient
from hil_tests.sim.air import Advert, Node
from hil_tests.sim.channel import AdvPlan, Channel, ScanPlan, receptions
from hil_tests.sim.memflash import MemStorage
from hil_tests.sim.phone import Phone
from hil_tests.sim.world import SKEW_ENV, serial_of
from provisioning.keys import load_server_key
from provisioning.station import TokenOptions, provision_token
from robert import timeutil
from server_stub import codes
from server_stub.app import create_app
from server_stub.clock import Clock
from server_stub.service import Settings
from server_stub.store import Store


class VirtualClock(Clock):
    """The server's clock read from the world's virtual time (no wall seconds pass in an exchange)."""

    def __init__(self, world: InprocWorld) -> None:
        super().__init__(0.0)
        self._world = world

    def unix(self) -> float:
        return self._world.now - timeutil.NTP_UNIX_DELTA


class _Led:
    def show(self, pattern: str) -> None:
        self.pattern = pattern


class _Radio:
    """`port.radio`: what the core advertises and scans becomes its node's plans."""

    def __init__(self, node: CoreNode, world: InprocWorld) -> None:
        self.node = node
        self.world = world

    def advertise(self, addr6, adv_data, interval_ms) -> None:
        if addr6 is None:
            self.node.adv = None
            return
        i = interval_ms / 1000.0
        phase = self.world.now + self.world.rng.uniform(0, i)  # as Air._handle("adv")
        self.node.adv = Advert(bytes(addr6), bytes(adv_data), AdvPlan(i, phase))

    def scan(self, window_ms, interval_ms) -> None:
        if not window_ms:
            self.node.scan = None
            return
        self.node.scan = ScanPlan(window_ms / 1000.0, (interval_ms or window_ms) / 1000.0, self.world.now)


class _Port:
    """The port object of docs/architecture.md, all in memory."""

    def __init__(self, node: CoreNode, world: InprocWorld, serial: str, rand: random.Random) -> None:
        self.storage = MemStorage()
        self.clock = node.hw
        self.radio = _Radio(node, world)
        self.led = _Led()
        self.serial = serial
        self.model = "host"
        self._rand = rand

    def aes_ecb(self, key: bytes):
        from ports.host.port import AesEcb
        return AesEcb(key)

    def battery_mv(self) -> int:
        return 3000

    def random(self, n: int) -> bytes:
        return self._rand.randbytes(n)


@dataclass
class CoreNode(Node):
    """A token on the in-process air: the real core, woken when it asked to be."""

    serial: str = ""
    hw: AirClock = field(default_factory=AirClock)
    token: Token | None = None
    session: sync.Session | None = None
    wake: float = 0.0
    pending: list = field(default_factory=list)

    def on_rx(self, t: float, addr: bytes, data: bytes, rssi: int) -> None:
        self.heard += 1
        self.pending.append((t, addr, data, rssi))

    def run(self, now: float) -> None:
        """Deliver what was heard (in time order), then tick, as the host port does."""
        if self.pending:
            self.pending.sort(key=lambda p: p[0])
            for t, addr, data, rssi in self.pending:
                self.hw.advance(t)
                self.token.on_advert(addr, data, rssi, self.hw.ticks_at(t))
            self.pending.clear()
        self.hw.advance(now)
        ms = self.token.tick()
        self.wake = now + self.hw.seconds_for(max(0, ms))


class SessionLink:
    """A `gateway.link.Link` whose far end is the token's `sync.Session` (no bytes on a wire)."""

    description = "in-process"

    def __init__(self, node: CoreNode) -> None:
        self.node = node
        self._out = b""

    async def send(self, data: bytes) -> None:
        self._out += self.node.session.feed(bytes(data))

    async def recv(self, timeout: float) -> bytes:
        out, self._out = self._out, b""
        return out

    async def close(self) -> None:
        pass


@dataclass
class TokenAnswer:
    """What `runner` reads of a kiosk status (as flows.StatusResult)."""

    risk_level: int
    headline: str

    @property
    def token(self) -> TokenAnswer:
        return self


class InprocWorld:
    """Server + air + tokens + phones in one process, in virtual time."""

    def __init__(self, folder: Path | None = None, seed: int = 0, start_t: float = 3989286000.0,
                 channel: Channel | None = None, model: str = "nrf52840",
                 schedule: dict | None = None, lazy: bool = True) -> None:
        self._tmp = None
        if folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="robert-inproc-")
            folder = Path(self._tmp.name)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.start_t = float(start_t)
        self.now = float(start_t)
        self.channel = channel or Channel()
        self.rng = random.Random(seed)
        self.model = model
        self.schedule = schedule  # overrides of power.DEFAULT_SCHEDULE for every token
        # A token out of range of everyone (position None) is not woken until it comes back or
        # a kiosk session: nobody can hear it and it hears nobody, and its first tick catches up
        # (epoch, tuple, address, log flush, purge all follow from the time). lazy=False wakes
        # it as the air does.
        self.lazy = lazy
        self.nodes: dict[str, Node] = {}
        self.on_air: dict[str, Node] = {}  # the nodes with a position: the only ones heard or woken
        self.cores: dict[str, CoreNode] = {}
        self.tokens: dict[str, CoreNode] = {}  # by scenario name
        self.phones: dict[str, Phone] = {}
        self.positions: dict[str, tuple[float, float] | None] = {}
        self.moves: list[tuple[float, int, str, tuple[float, float] | None]] = []
        self._move_seq = 0
        self.events = 0
        self.store = Store(self.folder / "server.db")
        self.app = create_app(self.store, VirtualClock(self), Settings(seed=seed))
        self.queue = ReportQueue(self.folder / "kiosk-queue")
        self._server_key = load_server_key(_b64(self.store.public_key_spki()))
        # Virtual time: the kiosk's server-clock bound (wall clock) is off while this world lives.
        self._skew_env = os.environ.get(SKEW_ENV)
        os.environ[SKEW_ENV] = "off"

    # ------------------------------------------------------------ life
    def start(self) -> InprocWorld:
        return self

    def close(self) -> None:
        if self._skew_env is None:
            os.environ.pop(SKEW_ENV, None)
        else:
            os.environ[SKEW_ENV] = self._skew_env
        self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> InprocWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def today(self) -> date:
        return flows.ntp_to_datetime(int(self.now)).date()

    # ------------------------------------------------------------ members
    def add_token(self, name: str, drift_ppm: float = 0.0) -> CoreNode:
        serial = serial_of(name)
        node = CoreNode(name=serial, serial=serial, hw=AirClock(drift_ppm), wake=self.now)
        node.hw.advance(self.now)
        port = _Port(node, self, serial, random.Random(f"{self.seed}/{serial}"))
        node.token = Token(port, self.schedule)
        node.session = sync.Session(node.token)
        self.tokens[name] = node
        self.cores[serial] = node
        self._add(node)
        node.run(self.now)
        return node

    def add_phone(self, name: str, os: str = "android") -> Phone:
        if os != "android":
            # iPhones reach tokens only through GATT exchanges, which only the air carries (air.py, gatt.py)
            raise ValueError(f"phone {name}: the in-process world has no GATT exchanges yet, so no "
                             f"{os} phones; run this scenario without --inproc")
        phone = Phone(name=name, seed=self.seed + len(self.phones))
        self._api(lambda api: phone.register(api, _b64(self.store.public_key_spki())))
        self.phones[name] = phone
        self._add(phone)
        return phone

    def _add(self, node: Node) -> None:
        self.nodes[node.name] = node
        node.pos = self.positions.get(node.name)
        if node.pos is not None:
            self.on_air[node.name] = node

    def node_name(self, name: str) -> str:
        return name if name in self.phones else serial_of(name)

    def place(self, name: str, pos: tuple[float, float] | None, at: float | None = None) -> None:
        key = self.node_name(name)
        if at is None or at <= self.now:
            self._move(key, pos)
        else:
            self._move_seq += 1
            heapq.heappush(self.moves, (at, self._move_seq, key, pos))

    def _move(self, key: str, pos: tuple[float, float] | None) -> None:
        self.positions[key] = pos
        node = self.nodes.get(key)
        if node is None:
            return
        back = node.pos is None and pos is not None
        node.pos = pos
        if pos is None:
            self.on_air.pop(key, None)
        else:
            self.on_air[key] = node
        if back and self.lazy and isinstance(node, CoreNode):
            node.run(self.now)  # it slept off the air: bring it up to date before anyone hears it

    # ------------------------------------------------------------ time
    def run_for(self, seconds: float) -> float:
        return self.run_until(self.now + seconds)

    def run_until(self, t_end: float) -> float:
        """Event by event, as `Air._advance_to`: wake who is due, hear, move."""
        while True:
            self._wake_due()
            if self.now >= t_end:
                return self.now
            nxt = t_end
            for node in self._wakeable():
                if node.wake < nxt:
                    nxt = node.wake
            if self.moves and self.moves[0][0] < nxt:
                nxt = self.moves[0][0]
            nxt = max(nxt, self.now)
            for t, rx, (addr, data), rssi in receptions(self.channel, self.rng, self.on_air.values(),
                                                         self.now, nxt):
                rx.on_rx(t, addr, data, rssi)
            self.now = nxt
            while self.moves and self.moves[0][0] <= self.now:
                _, _, key, pos = heapq.heappop(self.moves)
                self._move(key, pos)

    def _wakeable(self):
        if not self.lazy:
            return self.cores.values()
        return [n for n in self.on_air.values() if isinstance(n, CoreNode)]

    def _wake_due(self) -> None:
        due = sorted((n for n in self._wakeable() if n.wake <= self.now), key=lambda n: n.name)
        for node in due:
            node.run(self.now)
        self.events += len(due)

    # ------------------------------------------------------------ server and kiosk
    def _api(self, fn):
        async def go():
            async with _asgi_api(self.app) as api:
                return await fn(api)
        return asyncio.run(go())

    def _session(self, name: str, fn):
        """A kiosk session on token `name`: run it up to now first, tick it after (new plans)."""
        node = self.tokens[name]
        node.run(self.now)

        async def call(api):
            return await fn(TokenClient(SessionLink(node), timeout=1.0, retries=0), api)
        try:
            return self._api(call)
        finally:
            node.run(self.now)

    def kiosk(self, name: str, fn):
        return self._session(name, fn)

    def provision(self, name: str, days: int = 4) -> str:
        options = TokenOptions(days=days, model=self.model, serial=self.tokens[name].serial)
        record = self._session(name, lambda client, api: provision_token(
            client, api, self._server_key, options, lambda serial: True))
        return f"{record.serial} provisioned"

    def info(self, name: str) -> dict:
        return self._session(name, lambda client, api: client.info())

    def status(self, name: str) -> flows.StatusResult:
        return self._session(name, lambda client, api: flows.status_flow(client, api))

    def new_code(self) -> str:
        return codes.new_code(self.store, int(self.now), long=True)

    def report(self, name: str, onset: date | None = None) -> flows.ReportResult:
        code = self.new_code()
        return self._session(name, lambda client, api: flows.report_flow(
            client, api, code, onset=onset or self.today(), consent=True, queue=self.queue))

    def phone_status(self, name: str) -> int:
        return self._api(lambda api: self.phones[name].status(api, int(self.now)))

    def phone_report(self, name: str, since_days: float = 14) -> dict:
        code = self.new_code()
        since = int(self.now - since_days * 86400)
        return self._api(lambda api: self.phones[name].report(api, code, since))


def _asgi_api(app) -> RobertApi:
    """The kiosk's RobertApi (its retries, errors, JSON checks) over httpx's ASGI transport.

    Built without `RobertApi.__init__`, whose network transport costs an SSL
    context (about 30 ms) per session; everything else is the same object.
    """
    api = RobertApi.__new__(RobertApi)
    api.base_url, api.timeout, api.retries, api.backoff = "http://inproc", 10.0, 0, 0.0
    api._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                    base_url="http://inproc/api/v6")
    return api


def _b64(data: bytes) -> str:
    import base64
    return base64.b64encode(data).decode("ascii")
