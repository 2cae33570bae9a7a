"""A tiny deterministic air (JSON lines over TCP) for the host port's tests.

It follows docs/architecture.md ("The virtual radio") but decides nothing:
the test says when time moves and which advert is heard, and reads what each
token said. It runs its own asyncio loop in a thread, so blocking tests can
drive it while the token runs as a separate process.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading


class TokenLink:
    """What one joined token sent us, and a way to talk to it."""

    def __init__(self, air: TinyAir, writer: asyncio.StreamWriter, serial: str):
        self.air = air
        self.writer = writer
        self.serial = serial
        self.messages: queue.Queue[dict] = queue.Queue()
        self.adv: dict | None = None
        self.scan: dict | None = None

    def send(self, msg: dict) -> None:
        line = json.dumps(msg).encode() + b"\n"
        self.air.call(self.writer.write, line)

    def send_raw(self, line: bytes) -> None:
        self.air.call(self.writer.write, line)

    def next(self, op: str, timeout: float = 10.0) -> dict:
        """The next message with this op (others are kept in `adv` / `scan`)."""
        while True:
            msg = self.messages.get(timeout=timeout)
            if msg["op"] == op:
                return msg

    def time(self, t: float, timeout: float = 10.0) -> float:
        """Tell the token the time; return the wake it answers with."""
        self.send({"op": "time", "t": t})
        return self.next("idle", timeout)["wake"]

    def rx(self, t: float, addr: bytes, data: bytes, rssi: int) -> None:
        self.send({"op": "rx", "t": t, "addr": addr.hex(), "data": data.hex(), "rssi": rssi})


class TinyAir:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.joined: queue.Queue[TokenLink] = queue.Queue()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    def start(self) -> TinyAir:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        self.port = fut.result(5)
        return self

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = None
        self._writers.append(writer)
        while line := await reader.readline():
            msg = json.loads(line)
            if msg["op"] == "join":
                link = TokenLink(self, writer, msg["serial"])
                self.joined.put(link)
                continue
            assert link is not None, "a token spoke before joining"
            if msg["op"] == "adv":
                link.adv = msg if msg.get("addr") else None
            elif msg["op"] == "scan":
                link.scan = msg if msg.get("window_ms") else None
            link.messages.put(msg)

    def call(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def wait_join(self, timeout: float = 10.0) -> TokenLink:
        return self.joined.get(timeout=timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def close() -> None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await asyncio.sleep(0.05)  # let each client's reader see its end of stream

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
