"""Live parts of the provisioning tests: a real `robert-server`, real host-port tokens (the kiosk
tests' process helpers), and INFO read back with the kiosk's own client."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from kiosk_live import server_in, tokens_in  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = server_in(tmp_path_factory.mktemp("server")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def server_key(server) -> str:
    return server.public_key()


@pytest.fixture
def make_token(tmp_path):
    """Start host-port tokens on demand; all are stopped at the end of the test."""
    with tokens_in(tmp_path) as start:
        yield lambda name="tok", serial="RT-00000000": start(serial, name)


def token_info(pty: str) -> dict:
    """INFO read straight from the token with the kiosk's own client."""
    from gateway.connect import open_link
    from gateway.token_client import TokenClient

    async def read() -> dict:
        link = await open_link(pty)
        try:
            return await TokenClient(link).info()
        finally:
            await link.close()

    return asyncio.run(read())
