"""The token side of the virtual radio ("the air"): JSON lines over TCP.

The air owns virtual time. We tell it what we advertise and when we scan; it
tells us the time and hands us the adverts we heard. Each `time` runs the
core's due work and is answered by `idle` with our next wake-up. The protocol
is fixed in docs/architecture.md ("The virtual radio").
"""

import asyncio
import json
import logging
import math

log = logging.getLogger("robert_token.air")

MAX_LINE = 1 << 16


class AirProtocolError(ValueError):
    """A line from the air that does not follow the protocol (it is skipped)."""


def _hex(value, name, size=None):
    if not isinstance(value, str):
        raise AirProtocolError(name + " must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise AirProtocolError(name + " is not valid hex") from None
    if size is not None and len(raw) != size:
        raise AirProtocolError("%s must be %d bytes, got %d" % (name, size, len(raw)))
    return raw


def _time(value, name="t"):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AirProtocolError(name + " must be a finite number of NTP seconds")
    if value < 0:
        raise AirProtocolError(name + " must not be negative")
    return float(value)


def _rssi(rssi):
    if isinstance(rssi, bool) or not isinstance(rssi, (int, float)) or not math.isfinite(rssi):
        raise AirProtocolError("rssi must be a number of dBm")
    if not -127 <= rssi <= 20:
        raise AirProtocolError("rssi %r dBm is out of range" % rssi)
    return int(round(rssi))


def parse_air_message(line: bytes) -> dict:
    """Decode and check one line from the air; raise AirProtocolError with the reason."""
    try:
        msg = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AirProtocolError("not a JSON line: " + str(exc)) from None
    if not isinstance(msg, dict):
        raise AirProtocolError("a message must be a JSON object")
    op = msg.get("op")
    if op == "time":
        return {"op": "time", "t": _time(msg.get("t"))}
    if op == "write":
        rssi = _rssi(msg.get("rssi"))
        data = _hex(msg.get("data"), "data")
        if len(data) > 512:
            raise AirProtocolError("a GATT write carries at most 512 bytes")
        return {"op": "write", "t": _time(msg.get("t")), "data": data, "rssi": rssi}
    if op == "rx":
        rssi = _rssi(msg.get("rssi"))
        data = _hex(msg.get("data"), "data")
        if len(data) > 255:
            raise AirProtocolError("advert data longer than 255 bytes")
        return {
            "op": "rx",
            "t": _time(msg.get("t")),
            "addr": _hex(msg.get("addr"), "addr", 6),
            "data": data,
            "rssi": rssi,
        }
    raise AirProtocolError("unknown op " + repr(op)[:40])


def encode(msg: dict) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


class AirRadio:
    """The port's `radio` on the air: the core's requests become `adv` / `scan` messages.

    `gatt_exchange`: this radio runs the FD64 exchange service (the air carries
    the phones' connections and hands their writes over as `write` messages),
    so the core advertises connectable.
    """

    gatt_exchange = True

    def __init__(self, send):
        self._send = send
        self.advertising = None
        self.scanning = None
        self.connectable = False

    def advertise(self, addr6, adv_data=None, interval_ms=None, connectable=False):
        if addr6 is None:
            self.advertising = None
            self.connectable = False
            self._send({"op": "adv", "addr": None})
            return
        self.advertising = (bytes(addr6), bytes(adv_data), interval_ms)
        self.connectable = bool(connectable)
        msg = {"op": "adv", "addr": bytes(addr6).hex(), "data": bytes(adv_data).hex(),
               "interval_ms": interval_ms}
        if connectable:
            msg["connectable"] = True
        self._send(msg)

    def scan(self, window_ms, interval_ms=None):
        if not window_ms:
            self.scanning = None
            self._send({"op": "scan", "window_ms": 0, "interval_ms": interval_ms or 0})
            return
        self.scanning = (window_ms, interval_ms)
        self._send({"op": "scan", "window_ms": window_ms, "interval_ms": interval_ms})


class AirClient:
    """One token's connection to the air.

    `on_time(t) -> wake`, `on_rx(t, addr6, data, rssi)` and (optional)
    `on_write(t, data, rssi)` (a phone wrote into the FD64 characteristic) are
    the token's handlers; `serve()` runs until the air closes the connection.
    """

    def __init__(self, host: str, port: int, serial: str):
        self.host, self.port, self.serial = host, port, serial
        self.radio = AirRadio(self.send)
        self.bad_lines = 0
        self._reader = self._writer = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(
            self.host, self.port, limit=MAX_LINE)
        self.send({"op": "join", "serial": self.serial})
        await self._writer.drain()

    def send(self, msg: dict) -> None:
        if self._writer is None:
            raise ConnectionError("not connected to the air")
        self._writer.write(encode(msg))

    async def serve(self, on_time, on_rx, on_write=None) -> None:
        while True:
            try:
                line = await self._reader.readline()
            except ValueError:  # longer than MAX_LINE: asyncio dropped it
                self._bad("line longer than %d bytes" % MAX_LINE)
                continue
            if not line:
                return
            if not line.strip():
                continue
            try:
                msg = parse_air_message(line)
            except AirProtocolError as exc:
                self._bad(str(exc))
                continue
            if msg["op"] == "rx":
                on_rx(msg["t"], msg["addr"], msg["data"], msg["rssi"])
            elif msg["op"] == "write":
                if on_write is not None:
                    on_write(msg["t"], msg["data"], msg["rssi"])
            else:
                wake = on_time(msg["t"])
                self.send({"op": "idle", "wake": wake})
            await self._writer.drain()

    def _bad(self, reason: str) -> None:
        self.bad_lines += 1
        log.warning("ignored a bad message from the air: %s", reason)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = None
