"""The air: the virtual radio and the virtual clock the simulated tokens share.

A TCP server of JSON lines (protocol in docs/architecture.md, "The virtual
radio"). Host-port tokens join over TCP; phones live in this process. Time
moves only when the owner asks (`run_until`), event by event: the next token
wake-up or the next move of someone, with the adverts heard in between worked
out from the scan windows and advertising intervals (see `channel`). In
real-time mode (`run_realtime`) it follows the wall clock instead.

The air runs its own asyncio loop in a thread, so blocking code (tests, the
demo, the CLI) can drive it while the tokens run as separate processes.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field

from hil_tests.sim import gatt
from hil_tests.sim.channel import AdvPlan, Channel, ScanPlan, receptions

log = logging.getLogger("hil_tests.air")

IDLE_TIMEOUT_S = 30.0  # a token that does not answer `time` within this is dropped
MAX_LINE = 1 << 16
SNIFFER_KEEP = 200_000


class AirMessageError(ValueError):
    """A line from a token that does not follow the protocol (it is skipped and counted)."""


def _num(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AirMessageError(f"{name} must be a finite number")
    return float(value)


def parse_token_message(line: bytes) -> dict:
    """Decode and check one line a token sent; AirMessageError says why it is refused."""
    try:
        msg = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AirMessageError(f"not a JSON line: {exc}") from None
    if not isinstance(msg, dict):
        raise AirMessageError("a message must be a JSON object")
    op = msg.get("op")
    if op == "join":
        serial = msg.get("serial")
        if not isinstance(serial, str) or len(serial) > 64:
            raise AirMessageError("join needs a serial string (at most 64 characters)")
        return {"op": "join", "serial": serial}
    if op == "adv":
        if msg.get("addr") is None:
            return {"op": "adv", "addr": None}
        try:
            addr = bytes.fromhex(msg["addr"])
            data = bytes.fromhex(msg["data"])
        except (KeyError, TypeError, ValueError):
            raise AirMessageError("adv needs hex 'addr' and 'data'") from None
        if len(addr) != 6 or len(data) > 255:
            raise AirMessageError("adv addr must be 6 bytes and data at most 255 bytes")
        interval = _num(msg.get("interval_ms"), "interval_ms")
        if not 20 <= interval <= 10_240:
            raise AirMessageError("interval_ms must be within BLE's 20..10240 ms")
        connectable = msg.get("connectable", False)
        if not isinstance(connectable, bool):
            raise AirMessageError("adv 'connectable' must be true or false")
        return {"op": "adv", "addr": addr, "data": data, "interval_ms": interval,
                "connectable": connectable}
    if op == "scan":
        window = _num(msg.get("window_ms", 0) or 0, "window_ms")
        interval = _num(msg.get("interval_ms", 0) or 0, "interval_ms")
        if window < 0 or interval < 0 or (window and interval and window > interval):
            raise AirMessageError("scan needs 0 <= window_ms <= interval_ms")
        return {"op": "scan", "window_ms": window, "interval_ms": interval or window}
    if op == "idle":
        return {"op": "idle", "wake": _num(msg.get("wake"), "wake")}
    raise AirMessageError(f"unknown op {str(op)[:40]!r}")


@dataclass
class Advert:
    addr: bytes
    data: bytes
    plan: AdvPlan
    connectable: bool = False


@dataclass
class Node:
    """Someone on the air: a token process or an in-process phone."""

    name: str
    pos: tuple[float, float] | None = None
    tx_power_dbm: float = 0.0
    adv: Advert | None = None
    scan: ScanPlan | None = None
    heard: int = 0

    def adv_plan(self) -> AdvPlan | None:
        return None if self.adv is None else self.adv.plan

    def advert_at(self, t: float) -> tuple[bytes, bytes] | None:
        return None if self.adv is None else (self.adv.addr, self.adv.data)

    def on_rx(self, t: float, addr: bytes, data: bytes, rssi: int) -> None:
        self.heard += 1

    # -- the GATT exchange (hil_tests/sim/gatt.py): a central's wish, a peripheral's answers
    connections: int = 0  # exchanges this node took part in (either side), for the power figures
    connected_s: float = 0.0

    def is_connectable(self, t: float) -> bool:
        return self.adv is not None and self.adv.connectable

    def wants_exchange(self, t: float, addr: bytes, data: bytes, peer: str) -> str | None:
        """After hearing `data` from `peer`: "write", "read" or None (only phones connect)."""
        return None

    def exchange_payload(self, t: float) -> bytes | None:
        """The payload this node writes as a central, or answers to a read (None: no READ)."""
        return None

    def on_exchange_write(self, t: float, payload: bytes, rssi: int) -> bool:
        """A central wrote `payload` into our FD64 characteristic; False: we have none."""
        return False

    def on_exchange_read(self, t: float, payload: bytes, rssi: int, peer: str) -> None:
        """What we read from a peer's characteristic."""


@dataclass
class TokenNode(Node):
    serial: str = ""
    writer: asyncio.StreamWriter | None = None
    wake: float = 0.0
    pending: list = field(default_factory=list)  # rx lines waiting for the next `time`
    idle: asyncio.Future | None = None
    bad_lines: int = 0

    def on_rx(self, t: float, addr: bytes, data: bytes, rssi: int) -> None:
        self.heard += 1
        self.pending.append((t, {"op": "rx", "t": t, "addr": addr.hex(), "data": data.hex(),
                                 "rssi": rssi}))

    def on_exchange_write(self, t: float, payload: bytes, rssi: int) -> bool:
        """The host port's FD64 characteristic (ports/host/air.py hands it to the core)."""
        self.pending.append((t, {"op": "write", "t": t, "data": payload.hex(), "rssi": rssi}))
        return True


@dataclass(frozen=True)
class Sniffed:
    """One advertising change seen by the sniffer: from `t` on, `name` sends `data` from `addr`."""

    t: float
    name: str
    addr: bytes | None
    data: bytes | None


class Air:
    """The virtual radio. `start()` listens on a free loopback port (`port`)."""

    def __init__(self, start_t: float, channel: Channel | None = None, seed: int = 0) -> None:
        self.now = float(start_t)
        self.channel = channel or Channel()
        self.rng = random.Random(seed)
        self.nodes: dict[str, Node] = {}
        self.tokens: dict[str, TokenNode] = {}
        self.positions: dict[str, tuple[float, float] | None] = {}
        self.moves: list[tuple[float, str, tuple[float, float] | None]] = []  # sorted by time
        self.sniffer: collections.deque[Sniffed] = collections.deque(maxlen=SNIFFER_KEEP)
        self.bad_lines = 0
        self.events = 0
        self.exchanges: list[tuple] = []  # heap by end time
        self.exchange_counts: collections.Counter = collections.Counter()
        self._busy_until: dict[str, float] = {}  # a central's one connection at a time
        self._last_exchange: dict[tuple[str, bytes], float] = {}  # (central, peer id) -> start
        self._seq = 0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._joined = threading.Condition()
        self._thread = threading.Thread(target=self.loop.run_forever, name="air", daemon=True)
        self._realtime: asyncio.Task | None = None
        self._advancing: asyncio.Lock | None = None

    # ------------------------------------------------------------ life
    def start(self) -> Air:
        self._thread.start()
        self.port = self.call(self._listen())
        return self

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0, limit=MAX_LINE)
        return self._server.sockets[0].getsockname()[1]

    def call(self, coro, timeout: float | None = None):
        """Run a coroutine on the air's loop from another thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def close() -> None:
            if self._realtime:
                self._realtime.cancel()
            self._server.close()
            for node in list(self.tokens.values()):
                if node.writer:
                    node.writer.close()
            await asyncio.sleep(0.05)

        self.call(close(), 10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    # ------------------------------------------------------------ who is where
    def add_node(self, node: Node) -> None:
        """Put an in-process node (a phone) on the air."""
        self.loop.call_soon_threadsafe(self._add, node)

    def _add(self, node: Node) -> None:
        self.nodes[node.name] = node
        node.pos = self.positions.get(node.name)

    def place(self, name: str, pos: tuple[float, float] | None, at: float | None = None) -> None:
        """Put `name` at `pos` (metres; None = out of range) now, or at virtual time `at`."""
        def apply() -> None:
            if at is None or at <= self.now:
                self._move(name, pos)
            else:
                self.moves.append((at, name, pos))
                self.moves.sort(key=lambda m: m[0])
        self.loop.call_soon_threadsafe(apply)

    def _move(self, name: str, pos: tuple[float, float] | None) -> None:
        self.positions[name] = pos
        if name in self.nodes:
            self.nodes[name].pos = pos

    def wait_join(self, serial: str, timeout: float = 30.0) -> TokenNode:
        with self._joined:
            if not self._joined.wait_for(lambda: serial in self.tokens, timeout):
                raise TimeoutError(f"token {serial} did not join the air within {timeout} s")
            return self.tokens[serial]

    # ------------------------------------------------------------ token connections
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        node: TokenNode | None = None
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:
                    self._bad(node, f"line longer than {MAX_LINE} bytes")
                    continue
                except ConnectionError:
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                try:
                    msg = parse_token_message(line)
                except AirMessageError as exc:
                    self._bad(node, str(exc))
                    continue
                if msg["op"] == "join":
                    node = self._join(msg["serial"], writer)
                elif node is None:
                    self._bad(None, "a token spoke before joining")
                else:
                    self._handle(node, msg)
        finally:
            if node is not None:
                self._leave(node)
            writer.close()

    def _join(self, serial: str, writer: asyncio.StreamWriter) -> TokenNode:
        old = self.tokens.get(serial)
        if old is not None:  # the same token powered up again: the old link is dead
            self._leave(old)
        node = TokenNode(name=serial, serial=serial, writer=writer, wake=self.now)
        self._add(node)
        with self._joined:
            self.tokens[serial] = node
            self._joined.notify_all()
        log.info("%s joined the air", serial)
        return node

    def _leave(self, node: TokenNode) -> None:
        if self.tokens.get(node.name) is node:
            del self.tokens[node.name]
            del self.nodes[node.name]
            self.sniffer.append(Sniffed(self.now, node.name, None, None))
        if node.idle is not None and not node.idle.done():
            node.idle.set_result(None)

    def _handle(self, node: TokenNode, msg: dict) -> None:
        op = msg["op"]
        if op == "idle":
            node.wake = max(msg["wake"], self.now)
            if node.idle is not None and not node.idle.done():
                node.idle.set_result(msg["wake"])
        elif op == "adv":
            if msg["addr"] is None:
                node.adv = None
            else:
                phase = self.now + self.rng.uniform(0, msg["interval_ms"] / 1000.0)
                node.adv = Advert(msg["addr"], msg["data"], AdvPlan(msg["interval_ms"] / 1000.0, phase),
                                  msg.get("connectable", False))
            self.sniffer.append(Sniffed(self.now, node.name, msg["addr"], msg.get("data")))
        elif op == "scan":
            w = msg["window_ms"] / 1000.0
            node.scan = ScanPlan(w, msg["interval_ms"] / 1000.0, self.now) if w > 0 else None

    def _bad(self, node: TokenNode | None, reason: str) -> None:
        self.bad_lines += 1
        if node is not None:
            node.bad_lines += 1
        log.warning("ignored a bad line from %s: %s", node.name if node else "a client", reason)

    # ------------------------------------------------------------ time
    def run_until(self, t: float) -> float:
        """Advance virtual time to t (blocking); returns the new time."""
        return self.call(self.advance_to(t))

    def run_for(self, seconds: float) -> float:
        return self.call(self.advance_to(self.now + seconds))

    def tick(self, *serials: str) -> float:
        """Run every token that is due now, and those named, without moving time.

        A token's wake-up can come earlier after a USB sync (a clock set or new
        tuples start its advertising) but it only tells us in its next `idle`:
        the bench names it here after each kiosk session.
        """
        async def go() -> float:
            for serial in serials:
                if serial in self.tokens:
                    self.tokens[serial].wake = self.now
            return await self.advance_to(self.now)
        return self.call(go())

    async def advance_to(self, t_end: float) -> float:
        """Event by event up to t_end: hear what is in the air, move people, wake tokens."""
        if self._advancing is None:
            self._advancing = asyncio.Lock()
        async with self._advancing:  # one driver at a time (a test thread and the real-time task)
            return await self._advance_to(t_end)

    async def _advance_to(self, t_end: float) -> float:
        while True:
            await self._wake_due()
            if self.now >= t_end:
                return self.now
            nxt = t_end
            for node in self.tokens.values():
                nxt = min(nxt, node.wake)
            if self.moves:
                nxt = min(nxt, self.moves[0][0])
            if self.exchanges:
                nxt = min(nxt, self.exchanges[0][0])
            nxt = max(nxt, self.now)
            self._radio(self.now, nxt)
            self.now = nxt
            while self.moves and self.moves[0][0] <= self.now:
                _, name, pos = self.moves.pop(0)
                self._move(name, pos)
            self._finish_exchanges()

    async def _wake_due(self) -> None:
        due = sorted((n for n in self.tokens.values() if n.wake <= self.now), key=lambda n: n.name)
        if not due:
            return
        for node in due:
            node.idle = self.loop.create_future()
            for _, msg in sorted(node.pending, key=lambda p: p[0]):
                node.writer.write(_line(msg))
            node.pending.clear()
            node.writer.write(_line({"op": "time", "t": self.now}))
        self.events += len(due)
        for node in due:
            try:
                await asyncio.wait_for(node.idle, IDLE_TIMEOUT_S)
            except TimeoutError:
                log.error("%s did not answer the time within %s s: dropped", node.name, IDLE_TIMEOUT_S)
                node.writer.close()
                self._leave(node)

    def _radio(self, t0: float, t1: float) -> None:
        """Hand every scanner what it heard in [t0, t1): one reception per advertiser per window."""
        for t, rx, (addr, data), rssi, tx in receptions(self.channel, self.rng, self.nodes.values(), t0, t1,
                                                        with_sender=True):
            rx.on_rx(t, addr, data, rssi)
            kind = rx.wants_exchange(t, addr, data, tx.name)
            if kind is not None:
                self._start_exchange(t, rx, tx, addr, kind)

    # ------------------------------------------------------------ GATT exchanges
    def _start_exchange(self, t: float, central: Node, peer: Node, addr: bytes, kind: str) -> None:
        """Plan the connection `central` makes to `peer` on hearing it at t (see gatt.py)."""
        if not peer.is_connectable(t):
            self.exchange_counts["not connectable"] += 1
            return
        key = (central.name, addr)  # the address changes with the EBID: one peer identifier
        last = self._last_exchange.get(key)
        if last is not None and t - last < gatt.PEER_INTERVAL_S:
            return  # the app connects to one peer at most once a minute
        start = max(t, self._busy_until.get(central.name, t))
        if start - t > gatt.PEER_INTERVAL_S:
            self.exchange_counts["central busy"] += 1
            return
        ex = gatt.plan(self.channel, self.rng, start, peer.adv_plan().interval_s,
                       math.dist(central.pos, peer.pos), peer.tx_power_dbm)
        self._busy_until[central.name] = ex.t_end + gatt.NEXT_CONNECTION_S
        self._last_exchange[key] = t
        self._seq += 1
        heapq.heappush(self.exchanges, (ex.t_end, self._seq, kind, central.name, peer.name, addr, ex))

    def _finish_exchanges(self) -> None:
        while self.exchanges and self.exchanges[0][0] <= self.now:
            t, _, kind, cname, pname, addr, ex = heapq.heappop(self.exchanges)
            central, peer = self.nodes.get(cname), self.nodes.get(pname)
            if central is None or peer is None or not ex.ok:
                self.exchange_counts[f"{kind} failed"] += 1
                continue
            now_adv = peer.advert_at(t)
            if now_adv is None or now_adv[0] != addr or not peer.is_connectable(t):
                self.exchange_counts[f"{kind} failed"] += 1  # the peer stopped or changed address meanwhile
                continue
            for n in (central, peer):
                n.connections += 1
                n.connected_s += ex.t_end - ex.t_start
            if kind == "write":
                payload = central.exchange_payload(t)
                ok = payload is not None and peer.on_exchange_write(t, payload, ex.rssi)
            else:
                payload = peer.exchange_payload(t)
                ok = payload is not None
                if ok:
                    central.on_exchange_read(t, payload, ex.rssi, peer.name)
            self.exchange_counts[f"{kind} {'ok' if ok else 'refused'}"] += 1

    # ------------------------------------------------------------ real time
    def run_realtime(self, speed: float = 1.0, step_s: float = 0.05) -> None:
        """Follow the wall clock (times `speed`) from now on, until `pause_realtime()`."""
        async def follow() -> None:
            wall0, t0 = time.monotonic(), self.now
            while True:
                await self.advance_to(t0 + (time.monotonic() - wall0) * speed)
                await asyncio.sleep(step_s)

        def begin() -> None:
            if self._realtime is None:
                self._realtime = self.loop.create_task(follow())
        self.loop.call_soon_threadsafe(begin)

    def pause_realtime(self) -> None:
        async def end() -> None:
            if self._realtime is not None:
                self._realtime.cancel()
                try:
                    await self._realtime
                except asyncio.CancelledError:
                    pass
                self._realtime = None
        self.call(end())


def _line(msg: dict) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"
