"""A byte stream to one token: what every transport (USB serial, BLE GATT) provides.

The sync protocol (docs/sync-protocol.md) runs over any `Link`; the token
client neither knows nor cares which transport carries its frames.
"""

from __future__ import annotations

from typing import Protocol


class Link(Protocol):
    """A bidirectional byte stream to one token.

    `recv` returns the bytes that arrived (at least one), or `b""` when nothing
    came within `timeout` seconds; it raises `gateway.errors.LinkLost` once the
    token is gone (cable pulled, process killed, BLE disconnection).
    """

    description: str

    async def send(self, data: bytes) -> None: ...

    async def recv(self, timeout: float) -> bytes: ...

    async def close(self) -> None: ...


class CountingLink:
    """Wraps a link and counts bytes each way (benchmarks: protocol efficiency)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.description = link.description
        self.bytes_sent = 0
        self.bytes_received = 0

    async def send(self, data: bytes) -> None:
        self.bytes_sent += len(data)
        await self.link.send(data)

    async def recv(self, timeout: float) -> bytes:
        data = await self.link.recv(timeout)
        self.bytes_received += len(data)
        return data

    async def close(self) -> None:
        await self.link.close()
