"""Links that fail on purpose: cut or garbage at a chosen byte of the traffic."""

from __future__ import annotations

import random

from gateway.errors import LinkLost


class FaultyLink:
    """Wraps a kiosk `Link`; after `at` bytes (both ways counted) it cuts or injects garbage.

    `mode` is "cut" (the port is closed: every later call raises LinkLost) or
    "garbage" (random bytes are slipped into what the kiosk receives, once).
    """

    def __init__(self, link, at: int, mode: str, rng: random.Random) -> None:
        if mode not in ("cut", "garbage"):
            raise ValueError("mode is 'cut' or 'garbage'")
        self.link, self.at, self.mode, self.rng = link, at, mode, rng
        self.description = link.description + " (faulty)"
        self.seen = 0
        self.fired = False
        self.cut = False

    @classmethod
    def factory(cls, at: int, mode: str, rng: random.Random):
        return lambda link: cls(link, at, mode, rng)

    def _due(self, n: int) -> bool:
        self.seen += n
        return not self.fired and self.seen >= self.at

    async def send(self, data: bytes) -> None:
        if self.cut:
            raise LinkLost()
        if self._due(len(data)) and self.mode == "cut":
            self.fired = self.cut = True
            await self.link.send(data[: self.rng.randrange(len(data) + 1)])
            await self.link.close()
            raise LinkLost()
        await self.link.send(data)

    async def recv(self, timeout: float) -> bytes:
        if self.cut:
            raise LinkLost()
        data = await self.link.recv(timeout)
        if data and self._due(len(data)):
            self.fired = True
            if self.mode == "cut":
                self.cut = True
                await self.link.close()
                raise LinkLost()
            junk = self.rng.randbytes(self.rng.randrange(1, 64))
            cut = self.rng.randrange(len(data) + 1)
            return data[:cut] + junk + data[cut:]
        return data

    async def close(self) -> None:
        await self.link.close()
